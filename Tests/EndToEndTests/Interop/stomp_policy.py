#!/usr/bin/env python3
"""A department's adapter written with stomp.py meets Muster's policy.

Usage: stomp_policy.py HOST PORT CA CERT KEY

As the party of CERT (a township), over mutual TLS with STOMP 1.2:
  accepted    a valid complaint SENT to /topic/complaints gets its RECEIPT, and a subscriber
              on the same connection receives it with muster-type:complaint;
  violation   an evaluation with score 9 is answered by an ERROR with
              muster-error-code:schema-violation whose message names the pointer /score;
  undeclared  a SEND to /topic/undeclared is answered by an ERROR with
              muster-error-code:not-authorized.
Each refusal closes its connection, so every scenario connects anew.

Prints one JSON line per scenario and a last line {"ok": ..., "failures": [...]}; exits 0
only if every check held.
"""
import json
import os
import sys
import threading

import stomp

WAIT = 20  # seconds any single expected frame may take (only turns a hang into a failure)
EVALUATION = '{"summonsId": "s-1042", "party": "jinshan-public-security", "score": %d}'
# The complaint schema's example: a typed message that starts no workflow.
COMPLAINT = json.dumps(json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Schemas", "complaint.schema.json")))["examples"][0], ensure_ascii=False)


class Frames(stomp.ConnectionListener):
    def __init__(self):
        self.messages, self.receipts, self.errors = [], set(), []
        self.changed = threading.Condition()

    def _add(self, action):
        with self.changed:
            action()
            self.changed.notify_all()

    def on_message(self, frame):
        self._add(lambda: self.messages.append(frame))

    def on_receipt(self, frame):
        self._add(lambda: self.receipts.add(frame.headers.get("receipt-id")))

    def on_error(self, frame):
        self._add(lambda: self.errors.append(frame))

    def wait(self, condition):
        with self.changed:
            return self.changed.wait_for(condition, timeout=WAIT)


def connect(host, port, ca, cert, key):
    address = [(host, port)]
    connection = stomp.Connection12(address, reconnect_attempts_max=1, timeout=10)
    connection.set_ssl(for_hosts=address, key_file=key, cert_file=cert, ca_certs=ca)
    frames = Frames()
    connection.set_listener("frames", frames)
    connection.connect(wait=True)
    return connection, frames


def refused(arguments, destination, body):
    connection, frames = connect(*arguments)
    connection.send(destination, body, headers={"receipt": "refused"})
    if not frames.wait(lambda: frames.errors):
        return {"error": None}
    error = frames.errors[0]
    if connection.is_connected():  # the broker closes a refused connection itself
        connection.disconnect()
    return {"code": error.headers.get("muster-error-code"), "message": error.headers.get("message")}


def main():
    host, port, ca, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    arguments = (host, port, ca, cert, key)
    failures = []

    connection, frames = connect(*arguments)
    connection.subscribe("/topic/complaints", id="complaints", ack="auto")
    connection.send("/topic/complaints", COMPLAINT, headers={"receipt": "accepted"})
    got_receipt = frames.wait(lambda: "accepted" in frames.receipts)
    got_message = frames.wait(lambda: frames.messages)
    accepted = {"receipt": got_receipt,
                "type": frames.messages[0].headers.get("muster-type") if got_message else None,
                "errors": [e.headers.get("message") for e in frames.errors]}
    connection.disconnect()
    print(json.dumps({"accepted": accepted}, ensure_ascii=False))
    if not got_receipt or accepted["type"] != "complaint":
        failures.append("accepted: a valid complaint must get its receipt and arrive typed")

    violation = refused(arguments, "/topic/evaluation", EVALUATION % 9)
    print(json.dumps({"violation": violation}, ensure_ascii=False))
    if violation.get("code") != "schema-violation" or "/score" not in (violation.get("message") or ""):
        failures.append("violation: expected schema-violation naming /score")

    undeclared = refused(arguments, "/topic/undeclared", "x")
    print(json.dumps({"undeclared": undeclared}, ensure_ascii=False))
    if undeclared.get("code") != "not-authorized":
        failures.append("undeclared: expected not-authorized")

    print(json.dumps({"ok": not failures, "failures": failures}))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
