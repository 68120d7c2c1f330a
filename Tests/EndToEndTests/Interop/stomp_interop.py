#!/usr/bin/env python3
"""Interoperability check: a real third-party STOMP client (stomp.py) against Muster.

Usage: stomp_interop.py HOST PORT CERT KEY CA [--no-cert]

Connects over mutual TLS, subscribes to a queue with client-individual acks, sends a
message with a receipt, receives it, checks the broker's sender stamp, acks it and
disconnects with a receipt. Prints one JSON line with what happened; exits 0 only if
every step succeeded. With --no-cert it connects without a client certificate and exits
0 only if the broker refuses the connection.
"""
import sys

from interop_common import connection as open_connection, emit


def main():
    host, port, cert, key, ca = sys.argv[1:6]
    no_cert = "--no-cert" in sys.argv
    connection, recorder = open_connection(host, port, ca, None if no_cert else cert, None if no_cert else key)
    result = {"connected": False}
    try:
        # login/passcode must never override the certificate identity.
        if no_cert:
            # stomp.py's connect(wait=True) can wait forever when the handshake is refused after
            # the CONNECT was written, and beside the parallel tests it sometimes never notices
            # the closed connection: wait for either outcome, bounded; the Swift test checks in
            # the broker's log that the handshake was refused.
            connection.connect(username="somebody-else", passcode="x", wait=False)
            recorder.wait(lambda: recorder.disconnected or connection.is_connected(), timeout=10)
        else:
            connection.connect(username="somebody-else", passcode="x", wait=True)
        result["connected"] = connection.is_connected()
    except Exception as error:  # the refusal we expect with --no-cert
        result["connect_error"] = repr(error)
    if no_cert:
        emit(**result)
        return 0 if not result["connected"] else 1
    if not result["connected"]:
        emit(**result)
        return 1

    destination = "/queue/interop-check"
    connection.subscribe(destination=destination, id="interop-1", ack="client-individual", headers={"receipt": "sub-1"})
    result["subscribed"] = recorder.wait(lambda: "sub-1" in recorder.receipts)
    body = "联合巡逻 joint patrol at 廊下 — stomp.py"
    connection.send(destination=destination, body=body, headers={"receipt": "send-1", "x-adapter": "stomp.py"})
    result["send_receipt"] = recorder.wait(lambda: "send-1" in recorder.receipts)
    result["received"] = recorder.wait(lambda: len(recorder.messages) > 0)
    if result["received"]:
        message = recorder.messages[0]
        result["body_matches"] = message.body == body
        result["sender"] = message.headers.get("muster-sender")
        result["jurisdiction"] = message.headers.get("muster-sender-jurisdiction")
        result["custom_header"] = message.headers.get("x-adapter")
        connection.ack(message.headers["ack"], receipt="ack-1")
        result["ack_receipt"] = recorder.wait(lambda: "ack-1" in recorder.receipts)
    if connection.is_connected():  # after an ERROR the broker has closed it already
        connection.disconnect(receipt="bye")
    result["errors"] = recorder.error_texts()
    emit(**result)
    expected_party = sys.argv[6] if len(sys.argv) > 6 and not sys.argv[6].startswith("--") else None
    ok = (result.get("subscribed") and result.get("send_receipt") and result.get("received")
          and result.get("body_matches") and result.get("ack_receipt") and not recorder.errors
          and (expected_party is None or result.get("sender") == expected_party))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
