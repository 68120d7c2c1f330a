"""A redelivery to an auto-acknowledging subscriber counts as one: a client-acknowledged
stomp.py subscriber receives a queue message and disconnects without acknowledging it; an
auto-acknowledging subscriber then receives it again. The broker's /metrics is read after.

Usage: metrics_auto_redelivery.py HOST PORT METRICS_PORT CERT KEY CA QUEUE
Prints one JSON line: {"redelivered": BOOL, "samples": {...}}.
"""
import json
import sys
import time

from interop_common import WAIT, connect
from metrics_read import samples

host, port, metrics_port, cert, key, ca, queue = sys.argv[1:8]

first, first_frames = connect(host, port, ca, cert, key)
first.subscribe(destination=queue, id="careful", ack="client-individual", headers={"receipt": "subscribed"})
first_frames.wait(lambda: "subscribed" in first_frames.receipts, WAIT)
first.send(destination=queue, body="job", headers={"receipt": "sent"})
received = first_frames.wait(lambda: len(first_frames.messages) >= 1, WAIT)
first.disconnect()  # without an ACK: the message waits for another subscriber

second, second_frames = connect(host, port, ca, cert, key)
second.subscribe(destination=queue, id="hasty", ack="auto")
redelivered = received and second_frames.wait(lambda: len(second_frames.messages) >= 1, WAIT)
redelivered_header = second_frames.messages[0].headers.get("redelivered") if second_frames.messages else None
second.disconnect()
# The delivery is counted as it is recorded, just after it is sent: read until it shows (or 10 s).
name = "muster_redeliveries_total|destination=" + queue
deadline = time.time() + 10
found = samples(metrics_port)
while found.get(name, 0) < 1 and time.time() < deadline:
    time.sleep(0.05)
    found = samples(metrics_port)
print(json.dumps({"redelivered": bool(redelivered), "header": redelivered_header, "samples": found}), flush=True)
