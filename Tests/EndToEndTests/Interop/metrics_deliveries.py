"""The per-destination and delivery metrics as a stomp.py consumer moves them: a client-
acknowledged queue subscription receives two messages (two unacknowledged deliveries, one
consumer), NACKs the first with requeue (a redelivery), NACKs it again without requeue (a dead
letter), and ACKs the second (none left unacknowledged). The broker's /metrics is read after
each step with prometheus_client's parser.

Usage: metrics_deliveries.py HOST PORT METRICS_PORT CERT KEY CA QUEUE
Prints one JSON line per step: {"step": NAME, "samples": {...}}; the last is {"step": "done", "failures": [...]}.
"""
import sys

from interop_common import WAIT, connect, emit
from metrics_read import samples

host, port, metrics_port, cert, key, ca, queue = sys.argv[1:8]
failures = []


def step(name):
    emit(step=name, samples=samples(metrics_port))


connection, frames = connect(host, port, ca, cert, key)
try:
    connection.subscribe(destination=queue, id="work", ack="client-individual", headers={"receipt": "subscribed"})
    if not frames.wait(lambda: "subscribed" in frames.receipts, WAIT):
        failures.append("no RECEIPT for the SUBSCRIBE")
    for number in (1, 2):
        connection.send(destination=queue, body="job %d" % number, headers={"receipt": "sent-%d" % number})
    if not frames.wait(lambda: len(frames.messages) >= 2, WAIT):
        failures.append("the two messages did not arrive: %s" % frames.diagnostics())
    step("delivered")
    first, second = frames.messages[0], frames.messages[1]
    connection.nack(first.headers["ack"], requeue="true")
    if not frames.wait(lambda: len(frames.messages) >= 3, WAIT):
        failures.append("the NACKed message was not delivered again: %s" % frames.diagnostics())
    step("redelivered")
    again = frames.messages[2]
    connection.nack(again.headers["ack"], receipt="dead", requeue="false")
    connection.ack(second.headers["ack"], receipt="acked")
    if not frames.wait(lambda: "dead" in frames.receipts and "acked" in frames.receipts, WAIT):
        failures.append("no RECEIPT for the NACK and the ACK: %s" % frames.diagnostics())
    step("settled")
finally:
    connection.disconnect()
emit(step="done", failures=failures)
