#!/usr/bin/env python3
"""An adapter written with stomp.py that publishes with its own publish id, as an adapter does
that resends after losing its connection.

Usage: stomp_publish_once.py HOST PORT CA CERT KEY DESTINATION TYPE PUBLISH_ID BODY MODE

Over mutual TLS with STOMP 1.2, SENDs BODY to DESTINATION (muster-type: TYPE, unless "-")
with `muster-publish-id: PUBLISH_ID` and a receipt request, then, by MODE:
  receipt  waits for the RECEIPT and prints {"receipt": {its headers}} (or {"errors": [...]});
  cut      resets the connection at once (TCP RST, without reading anything) and prints
           {"cut": true}: the broker may or may not have read the SEND.
Exits 0 when the mode's step happened.
"""
import os
import socket
import struct
import sys

from interop_common import connect, emit


def main():
    host, port, ca, cert, key, destination, message_type, publish_id, body, mode = sys.argv[1:11]
    client, frames = connect(host, port, ca, cert, key)
    headers = {"muster-publish-id": publish_id, "receipt": "publish", "content-type": "application/json;charset=utf-8"}
    if message_type != "-":
        headers["muster-type"] = message_type
    client.send(destination=destination, body=body, headers=headers)
    if mode == "cut":
        raw = client.transport.socket
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        emit(cut=True)
        os._exit(0)  # the kernel resets the connection; stomp.py gets no chance to say goodbye
    if not frames.wait(lambda: "publish" in frames.receipts or frames.errors):
        emit(errors=["no RECEIPT"], received=frames.diagnostics())
        return 1
    if frames.errors:
        emit(errors=frames.error_texts())
        return 1
    emit(receipt=dict(frames.receipts["publish"].headers))
    client.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
