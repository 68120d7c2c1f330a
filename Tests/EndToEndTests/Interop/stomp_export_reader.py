#!/usr/bin/env python3
"""A federation importer written with stomp.py: the link has no hidden channel.

Usage: stomp_export_reader.py HOST PORT CA CERT KEY PEER START COUNT

Holding CERT (a broker certificate, muster://PEER/broker), connects over mutual TLS with
STOMP 1.2, subscribes to PEER's export destination /queue/muster.export.PEER with
ack:client, durable:true and x-stream-offset START (first, or offset=N), waits for COUNT
messages (or an ERROR, or the connection closing), acknowledges the last one (a client ACK
settles it and every earlier one) with a receipt, and disconnects.

Prints one JSON line: every message's x-stream-offset, muster-origin, muster-link,
muster-origin-hash, destination, sender and body, the ERROR messages, and whether the ACK
got its receipt. Exits 0 when it ran to the end (the Swift test judges what it got).
"""
import sys

from interop_common import connection as open_connection, emit


def main():
    host, port, ca, cert, key, peer, start, count = sys.argv[1:9]
    count = int(count)
    connection, frames = open_connection(host, port, ca, cert, key)
    errors, acked = [], False
    try:
        connection.connect(wait=True)
        connection.subscribe(destination="/queue/muster.export." + peer, id="link", ack="client",
                             headers={"x-stream-offset": start, "durable": "true", "prefetch-count": "100"})
        frames.wait(lambda: len(frames.messages) >= count or frames.errors or not connection.is_connected())
        if frames.messages and not frames.errors:
            connection.ack(frames.messages[-1].headers["ack"], receipt="acked")
            acked = frames.wait(lambda: "acked" in frames.receipts)
        if connection.is_connected():
            connection.disconnect()
    except Exception as failure:  # a refused connection: the ERROR is what the test reads
        frames.wait(lambda: frames.errors, timeout=5)
        errors.append("connection failed: %s" % failure)
    messages = [{
        "offset": int(m.headers.get("x-stream-offset", "-1")),
        "origin": m.headers.get("muster-origin"),
        "link": m.headers.get("muster-link"),
        "hash": m.headers.get("muster-origin-hash"),
        "destination": m.headers.get("destination"),
        "sender": m.headers.get("muster-sender"),
        "export": m.headers.get("muster-export"),
        "body": m.body,
    } for m in frames.messages]
    emit(messages=messages, errors=frames.error_texts() + errors, acked=acked)


if __name__ == "__main__":
    main()
