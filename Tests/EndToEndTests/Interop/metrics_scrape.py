"""Scrapes a broker's /metrics (plain HTTP on loopback), parsed by prometheus_client's own
exposition-format parser, before and after stomp.py sends MESSAGES messages with receipts.

Usage: metrics_scrape.py HOST PORT METRICS_PORT CERT KEY CA MESSAGES REFUSED_DESTINATION
Prints one JSON line: the samples that moved, the parse of each scrape, and the status
codes of a request for another path and of a POST.
"""
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

from interop_common import connect, emit
from metrics_read import samples


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        content_type = response.headers.get("Content-Type")
    return content_type, samples(port)


def handshake_without_certificate(host, port, ca):
    """A TLS client that offers no certificate: the broker refuses it at the handshake."""
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    try:
        with socket.create_connection((host, port), timeout=10) as raw, context.wrap_socket(raw) as tls:
            tls.recv(1)  # TLS 1.3: the refusal arrives after the client's side of the handshake
    except (ssl.SSLError, OSError):
        pass


def status(port, path, method="GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    host, port, metrics_port, cert, key, ca, count, refused_destination = sys.argv[1:9]
    content_type, before = scrape(metrics_port)
    client, frames = connect(host, int(port), ca, cert, key)
    for index in range(int(count)):
        client.send("/topic/joint.metrics", f'{{"n": {index}}}', headers={"receipt": f"r{index}", "content-type": "application/json"})
    received = frames.wait(lambda: len(frames.receipts) == int(count) or frames.errors)
    receipts = len(frames.receipts) if received else -1
    client.disconnect()
    # One SEND the policy refuses (REFUSED_DESTINATION is open to no publisher): an ERROR, and a refusal counted.
    refused_client, refused_frames = connect(host, int(port), ca, cert, key)
    refused_client.send(refused_destination, "{}", headers={"receipt": "refused", "content-type": "application/json"})
    refused_frames.wait(lambda: refused_frames.errors or refused_frames.disconnected)
    handshake_without_certificate(host, int(port), ca)
    # The broker counts the refused handshake as it closes the connection, and the refusal just
    # after: read until both show.
    deadline = time.time() + 20
    refused_handshakes = "muster_refusals_total|code=identity-refused"
    while True:
        _, after = scrape(metrics_port)
        failures = sum(value for name, value in after.items() if name.startswith("muster_tls_handshake_failures_total"))
        handshake_counted = failures > sum(value for name, value in before.items() if name.startswith("muster_tls_handshake_failures_total"))
        if (handshake_counted and after.get(refused_handshakes, 0) > before.get(refused_handshakes, 0)) or time.time() > deadline:
            break
        time.sleep(0.05)
    moved = {name: after.get(name, 0) - before.get(name, 0) for name in sorted(set(before) | set(after))}
    emit(content_type=content_type, receipts=receipts, errors=frames.error_texts(),
         refused=refused_frames.error_texts(),
         before=before, moved=moved, not_found=status(metrics_port, "/other"), post=status(metrics_port, "/metrics", "POST"))


main()
