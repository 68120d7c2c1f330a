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

from interop_common import connect, emit

EVALUATION = '{"summonsId": "s-1042", "party": "jinshan-public-security", "score": %d}'
# The complaint schema's example: a typed message that starts no workflow.
COMPLAINT = json.dumps(json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Schemas", "complaint.schema.json")))["examples"][0], ensure_ascii=False)


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
    emit(accepted=accepted)
    if not got_receipt or accepted["type"] != "complaint":
        failures.append("accepted: a valid complaint must get its receipt and arrive typed")

    violation = refused(arguments, "/topic/evaluation", EVALUATION % 9)
    emit(violation=violation)
    if violation.get("code") != "schema-violation" or "/score" not in (violation.get("message") or ""):
        failures.append("violation: expected schema-violation naming /score")

    undeclared = refused(arguments, "/topic/undeclared", "x")
    emit(undeclared=undeclared)
    if undeclared.get("code") != "not-authorized":
        failures.append("undeclared: expected not-authorized")

    emit(ok=not failures, failures=failures)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
