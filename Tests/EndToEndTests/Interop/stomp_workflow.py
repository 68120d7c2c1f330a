#!/usr/bin/env python3
"""A department's adapter written with stomp.py takes part in a summons (吹哨报到).

Usage: stomp_workflow.py HOST PORT CA CERT KEY JURISDICTION/PARTY READY_FILE

As the party of CERT, over mutual TLS with STOMP 1.2, the adapter
  1. subscribes to its inbox /queue/inbox.PARTY with ack:client-individual (and a receipt),
     then creates READY_FILE (pass "-" for none) so that the test knows it listens;
  2. receives the copy of a summons the broker put there (muster-type:summons,
     muster-workflow-event:inbox-copy, muster-workflow-id:s-N (JURISDICTION.s-N for a summons
     from another jurisdiction's broker), muster-workflow-party naming
     this party) and ACKs it, with a receipt;
  3. SENDs a report-in (muster-type:report-in, content-type:application/json) to
     /topic/report-in with a receipt, and waits for the RECEIPT, which names the summons in
     muster-workflow-id;
  4. disconnects.

Prints one JSON line per step and a last line {"ok": ..., "summons_id": ..., "failures": [...]};
on a failure the lines say what arrived instead (frames, errors, the connection's fate).
Exits 0 only if every check held.
"""
import json
import re
import sys

from interop_common import connection as open_connection

WAIT = 30  # seconds any single expected frame may take (only turns a hang into a failure)


def emit(step, **fields):
    print(json.dumps(dict(step=step, **fields), ensure_ascii=False, sort_keys=True), flush=True)


def main():
    host, port, ca, cert, key, identity, ready = sys.argv[1], int(sys.argv[2]), *sys.argv[3:8]
    jurisdiction, party = identity.split("/")
    inbox = "/queue/inbox." + party
    failures = []
    summons_id = None

    def check(condition, message):
        if not condition:
            failures.append(message)
        return condition

    connection, frames = open_connection(host, port, ca, cert, key)
    try:
        connection.connect(wait=True)
        emit("connect", connected=connection.is_connected())

        # 1. Listen on the inbox.
        connection.subscribe(destination=inbox, id="inbox", ack="client-individual", headers={"receipt": "subscribe"})
        subscribed = frames.wait(lambda: "subscribe" in frames.receipts or frames.errors, WAIT)
        emit("subscribe", destination=inbox, receipt=subscribed and "subscribe" in frames.receipts)
        if not check(subscribed and "subscribe" in frames.receipts, "no RECEIPT for the SUBSCRIBE to " + inbox):
            raise RuntimeError("not subscribed")
        if ready != "-":
            with open(ready, "w") as marker:
                marker.write("subscribed\n")

        # 2. The summons copy arrives; acknowledge it.
        if not check(frames.wait(lambda: frames.messages or frames.errors, WAIT) and frames.messages,
                     "no message arrived in %s within %d s" % (inbox, WAIT)):
            raise RuntimeError("nothing in the inbox")
        copy = frames.messages[0]
        headers = copy.headers
        summons_id = headers.get("muster-workflow-id")
        try:
            body = json.loads(copy.body)
        except ValueError:
            body = None
        emit("inbox-copy", headers=dict(headers), body=body)
        check(headers.get("destination") == inbox, "the copy's destination is %r, not %s" % (headers.get("destination"), inbox))
        check(headers.get("subscription") == "inbox", "the copy names subscription %r" % headers.get("subscription"))
        check(headers.get("muster-type") == "summons", "the copy's muster-type is %r" % headers.get("muster-type"))
        check(headers.get("muster-workflow-event") == "inbox-copy",
              "the copy's muster-workflow-event is %r" % headers.get("muster-workflow-event"))
        check(re.fullmatch(r"([a-z0-9-]+\.)?s-[0-9]+", summons_id or "") is not None, "the copy's muster-workflow-id is %r" % summons_id)
        check(headers.get("muster-workflow-party") == identity,
              "the copy's muster-workflow-party is %r, not %s" % (headers.get("muster-workflow-party"), identity))
        # The broker writes inbox copies itself (muster-sender is the broker), not the summoner.
        check(headers.get("muster-sender") not in (None, "", party), "the copy's muster-sender is %r" % headers.get("muster-sender"))
        check(bool(headers.get("muster-deadline")), "the copy has no muster-deadline")
        check(bool(headers.get("ack")), "a client-individual delivery has no ack header")
        check(isinstance(body, dict) and body.get("action") == "open", "the copy's body is not the summons open: %r" % copy.body)
        if summons_id is None:
            raise RuntimeError("no summons id")

        connection.ack(headers.get("ack"), receipt="ack")
        acked = frames.wait(lambda: "ack" in frames.receipts or frames.errors, WAIT)
        emit("ack", receipt=acked and "ack" in frames.receipts)
        check(acked and "ack" in frames.receipts, "no RECEIPT for the ACK of the summons copy")

        # 3. Report in.
        report = {"summonsId": summons_id, "eta": "PT10M", "people": [{"name": "Officer Zhang", "role": "patrol officer"}],
                  "note": "patrol car on the way (stomp.py adapter)"}
        connection.send(destination="/topic/report-in", body=json.dumps(report, ensure_ascii=False),
                        content_type="application/json;charset=utf-8",
                        headers={"muster-type": "report-in", "receipt": "report-in"})
        reported = frames.wait(lambda: "report-in" in frames.receipts or frames.errors, WAIT)
        receipt = frames.receipts.get("report-in")
        emit("report-in", receipt=dict(receipt.headers) if receipt else None)
        if check(reported and receipt is not None, "no RECEIPT for the report-in"):
            check(receipt.headers.get("muster-workflow-id") == summons_id,
                  "the report-in's RECEIPT names %r, not %s" % (receipt.headers.get("muster-workflow-id"), summons_id))
        check(len(frames.messages) == 1, "more than the summons copy arrived: %d messages" % len(frames.messages))
        check(not frames.errors, "the broker sent ERROR frames")
    except Exception as error:  # a failure above; the diagnostics below say what happened
        failures.append("stopped: %s: %s" % (type(error).__name__, error))
    finally:
        if connection.is_connected():
            connection.disconnect()
    if failures:
        emit("diagnostics", **frames.diagnostics())
    print(json.dumps({"ok": not failures, "summons_id": summons_id, "failures": failures}, ensure_ascii=False), flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
