#!/usr/bin/env python3
"""A fast raw STOMP reader for big replays (stomp.py is far too slow for a million messages).

Usage: fast_replay_reader.py HOST PORT CERT KEY CA DESTINATION

Connects over mutual TLS with Python's ssl module, sends CONNECT and a SUBSCRIBE with
x-stream-offset: first and muster-until: head (ack: auto), and reads MESSAGE frames until the
end marker (RECEIPT with receipt-id muster-end:big). It checks that the offsets run 0, 1, 2, …
without a gap, and prints one JSON line: the count, the first and last offsets, how many
offsets broke the sequence, the end marker's headers and the seconds it took. Exits 0 only
if the replay ended with a marker whose count matches.
"""
import json
import re
import socket
import ssl
import sys
import time

SUBSCRIPTION = "big"


def frame(command, headers):
    lines = [command] + ["%s:%s" % item for item in headers.items()]
    return ("\n".join(lines) + "\n\n").encode() + b"\x00"


ESCAPES = {"c": ":", "n": "\n", "r": "\r", "\\": "\\"}


def unescape(value):
    # STOMP 1.2 escapes colons in header values: the end marker's receipt-id arrives as muster-end\cbig.
    return re.sub(r"\\(.)", lambda match: ESCAPES[match.group(1)], value)


def headers_of(raw):
    lines = raw.split(b"\n")
    pairs = (line.decode().split(":", 1) for line in lines[1:] if b":" in line)
    return lines[0], {unescape(name): unescape(value) for name, value in pairs}


def main():
    host, port, cert, key, ca, destination = sys.argv[1:7]
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    context.load_cert_chain(cert, key)
    started = time.monotonic()
    raw = socket.create_connection((host, int(port)), timeout=120)
    sock = context.wrap_socket(raw, server_hostname=host)
    sock.sendall(frame("CONNECT", {"accept-version": "1.2", "host": host, "heart-beat": "0,0"}))
    sock.sendall(frame("SUBSCRIBE", {"id": SUBSCRIPTION, "destination": destination, "ack": "auto",
                                     "x-stream-offset": "first", "muster-until": "head"}))
    marker = b"\nx-stream-offset:"
    count = 0
    expected = 0
    breaks = 0
    first = None
    last = None
    end = None
    errors = []
    pending = b""
    while end is None and not errors:
        try:
            chunk = sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            errors.append("nothing arrived for %d s after %d messages (last offset %s, %d bytes of a partial frame: %r)"
                          % (sock.gettimeout(), count, last, len(pending), pending[-200:]))
            break
        if not chunk:
            errors.append("the broker closed the connection")
            break
        parts = (pending + chunk).split(b"\x00")
        pending = parts.pop()
        for part in parts:
            part = part.lstrip(b"\r\n")
            if part.startswith(b"MESSAGE\n"):
                at = part.find(marker) + len(marker)
                offset = int(part[at:part.find(b"\n", at)])
                if offset != expected:
                    breaks += 1
                if first is None:
                    first = offset
                last = offset
                expected = offset + 1
                count += 1
            elif part.startswith(b"RECEIPT\n"):
                command, headers = headers_of(part)
                if headers.get("receipt-id") == "muster-end:" + SUBSCRIPTION:
                    end = headers
                    break
            elif part.startswith(b"ERROR\n"):
                errors.append(part.decode(errors="replace"))
            elif part.startswith(b"CONNECTED\n") or not part:
                pass
            else:
                errors.append("unexpected frame: " + part[:80].decode(errors="replace"))
    elapsed = time.monotonic() - started
    try:
        sock.close()
    except OSError:
        pass
    result = {"count": count, "first": first, "last": last, "breaks": breaks, "end": end,
              "errors": errors[:5], "seconds": round(elapsed, 2)}
    print(json.dumps(result))
    ok = end is not None and not errors and end.get("muster-replayed") == str(count)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
