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
import sys

from interop_common import Recorder, connection as open_connection, emit

SUBSCRIPTION = "rabbit-style-replay"


class Replayer(Recorder):
    """A Recorder that acknowledges every message as it arrives."""

    def __init__(self):
        super().__init__()
        self.connection = None
        self.acked = 0

    def on_message(self, frame):
        super().on_message(frame)
        # With prefetch-count 10 the replay only goes on if each message is acknowledged.
        self.connection.ack(frame.headers["ack"])
        self._note(lambda: setattr(self, "acked", self.acked + 1))

    @property
    def end(self):
        """The end marker's headers (a RECEIPT for muster-end:SUBSCRIPTION), once it came."""
        marker = self.receipts.get("muster-end:" + SUBSCRIPTION)
        return dict(marker.headers) if marker else None


def main():
    host, port, cert, key, ca, destination = sys.argv[1:7]
    connection, replayer = open_connection(host, port, ca, cert, key, listener=Replayer())
    replayer.connection = connection
    connection.connect(wait=True)
    connection.subscribe(destination=destination, id=SUBSCRIPTION, ack="client-individual",
                         headers={"x-stream-offset": "first", "prefetch-count": "10", "muster-until": "head"})
    ended = replayer.wait(lambda: replayer.end is not None or replayer.errors or not connection.is_connected(), timeout=60)
    connection.disconnect()
    end = replayer.end or {}
    offsets = [int(message.headers.get("x-stream-offset", "-1")) for message in replayer.messages]
    result = {
        "ended": bool(ended and replayer.end is not None),
        "offsets": offsets,
        "bodies": [message.body for message in replayer.messages],
        "acked": replayer.acked,
        "end_offset": end.get("muster-end-offset"),
        "replayed": end.get("muster-replayed"),
        "errors": replayer.error_texts(),
    }
    emit(**result)
    ok = (result["ended"] and not replayer.errors and replayer.acked == len(offsets)
          and offsets == sorted(set(offsets))
          and result["replayed"] == str(len(offsets)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
