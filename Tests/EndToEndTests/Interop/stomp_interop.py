#!/usr/bin/env python3
"""Interoperability check: a real third-party STOMP client (stomp.py) against Muster.

Usage: stomp_interop.py HOST PORT CERT KEY CA [--no-cert]

Connects over mutual TLS, subscribes to a queue with client-individual acks, sends a
message with a receipt, receives it, checks the broker's sender stamp, acks it and
disconnects with a receipt. Prints one JSON line with what happened; exits 0 only if
every step succeeded. With --no-cert it connects without a client certificate and exits
0 only if the broker refuses the connection.
"""
import json
import sys
import threading

import stomp


class Recorder(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.receipts = set()
        self.errors = []
        self.changed = threading.Condition()

    def on_message(self, frame):
        with self.changed:
            self.messages.append(frame)
            self.changed.notify_all()

    def on_receipt(self, frame):
        with self.changed:
            self.receipts.add(frame.headers.get("receipt-id"))
            self.changed.notify_all()

    def on_error(self, frame):
        with self.changed:
            self.errors.append(frame.headers.get("message", ""))
            self.changed.notify_all()

    def wait(self, predicate, timeout=10):
        with self.changed:
            return self.changed.wait_for(predicate, timeout)


def main():
    host, port, cert, key, ca = sys.argv[1:6]
    no_cert = "--no-cert" in sys.argv
    address = [(host, int(port))]
    connection = stomp.Connection12(address, reconnect_attempts_max=1, timeout=10)
    if no_cert:
        connection.set_ssl(for_hosts=address, ca_certs=ca)
    else:
        connection.set_ssl(for_hosts=address, key_file=key, cert_file=cert, ca_certs=ca)
    recorder = Recorder()
    connection.set_listener("recorder", recorder)
    result = {"connected": False}
    try:
        # login/passcode must never override the certificate identity.
        connection.connect(username="somebody-else", passcode="x", wait=True)
        result["connected"] = connection.is_connected()
    except Exception as error:  # the refusal we expect with --no-cert
        result["connect_error"] = repr(error)
    if no_cert:
        print(json.dumps(result))
        return 0 if not result["connected"] else 1
    if not result["connected"]:
        print(json.dumps(result))
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
    result["errors"] = recorder.errors
    print(json.dumps(result, ensure_ascii=False))
    expected_party = sys.argv[6] if len(sys.argv) > 6 and not sys.argv[6].startswith("--") else None
    ok = (result.get("subscribed") and result.get("send_receipt") and result.get("received")
          and result.get("body_matches") and result.get("ack_receipt") and not recorder.errors
          and (expected_party is None or result.get("sender") == expected_party))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
