#!/usr/bin/env python3
"""Replay with stomp.py, the way a client written for RabbitMQ streams does it.

Usage: stomp_replay.py HOST PORT CERT KEY CA DESTINATION

Connects over mutual TLS and subscribes with RabbitMQ's stream headers
(x-stream-offset: first, ack: client-individual, prefetch-count: 10) plus Muster's
muster-until: head, acknowledges every message as it arrives, and stops at the broker's
end marker: a RECEIPT whose receipt-id is muster-end:SUBSCRIPTION-ID. Prints one JSON line
(offsets, bodies, the marker's headers); exits 0 only if the replay ended, every message was
acknowledged, the offsets increase and the marker's count matches.
"""
import json
import sys
import threading

import stomp

SUBSCRIPTION = "rabbit-style-replay"


class Replayer(stomp.ConnectionListener):
    def __init__(self, connection):
        self.connection = connection
        self.offsets = []
        self.bodies = []
        self.acked = 0
        self.end = None
        self.errors = []
        self.changed = threading.Condition()

    def on_message(self, frame):
        with self.changed:
            self.offsets.append(int(frame.headers.get("x-stream-offset", "-1")))
            self.bodies.append(frame.body)
        # With prefetch-count 10 the replay only goes on if each message is acknowledged.
        self.connection.ack(frame.headers["ack"])
        with self.changed:
            self.acked += 1
            self.changed.notify_all()

    def on_receipt(self, frame):
        with self.changed:
            if frame.headers.get("receipt-id") == "muster-end:" + SUBSCRIPTION:
                self.end = dict(frame.headers)
            self.changed.notify_all()

    def on_error(self, frame):
        with self.changed:
            self.errors.append(frame.headers.get("message", "") + " " + frame.body)
            self.changed.notify_all()

    def on_disconnected(self):
        with self.changed:
            self.changed.notify_all()


def main():
    host, port, cert, key, ca, destination = sys.argv[1:7]
    address = [(host, int(port))]
    connection = stomp.Connection12(address, reconnect_attempts_max=1, timeout=10)
    connection.set_ssl(for_hosts=address, key_file=key, cert_file=cert, ca_certs=ca)
    replayer = Replayer(connection)
    connection.set_listener("replayer", replayer)
    connection.connect(wait=True)
    connection.subscribe(destination=destination, id=SUBSCRIPTION, ack="client-individual",
                         headers={"x-stream-offset": "first", "prefetch-count": "10", "muster-until": "head"})
    with replayer.changed:
        ended = replayer.changed.wait_for(lambda: replayer.end is not None or replayer.errors
                                          or not connection.is_connected(), timeout=60)
    connection.disconnect()
    end = replayer.end or {}
    result = {
        "ended": bool(ended and replayer.end is not None),
        "offsets": replayer.offsets,
        "bodies": replayer.bodies,
        "acked": replayer.acked,
        "end_offset": end.get("muster-end-offset"),
        "replayed": end.get("muster-replayed"),
        "errors": replayer.errors,
    }
    print(json.dumps(result, ensure_ascii=False))
    ok = (result["ended"] and not replayer.errors and replayer.acked == len(replayer.offsets)
          and replayer.offsets == sorted(set(replayer.offsets))
          and result["replayed"] == str(len(replayer.offsets)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
