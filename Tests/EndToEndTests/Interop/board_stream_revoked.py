"""Opens the board's live stream with a party's certificate (Python's ssl, as a browser's
EventSource would ask), says when the first board arrived, then reads until the broker closes
the stream (or 60 s pass: far less than a stream's 10-minute lifetime). Usage: HOST PORT CA CERT KEY

Prints {"step": "streaming"}, then {"step": "done", "closed": BOOL, "seconds": N}.
"""
import json
import socket
import ssl
import sys
import time

host, port, ca, cert, key = sys.argv[1:6]
context = ssl.create_default_context(cafile=ca)
context.load_cert_chain(cert, key)
sock = context.wrap_socket(socket.create_connection((host, int(port)), timeout=20), server_hostname=host)
sock.sendall(("GET /events?lang=en HTTP/1.1\r\nHost: %s:%s\r\nSec-Fetch-Site: same-origin\r\n\r\n" % (host, port)).encode())
received = b""
while b"event: board" not in received:
    received += sock.recv(65536)
print(json.dumps({"step": "streaming"}), flush=True)
started = time.monotonic()
sock.settimeout(60)
closed = False
try:
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            closed = True
            break
except (socket.timeout, ssl.SSLError, ConnectionError):
    closed = not isinstance(sys.exc_info()[1], socket.timeout)
print(json.dumps({"step": "done", "closed": closed, "seconds": round(time.monotonic() - started, 1)}), flush=True)
