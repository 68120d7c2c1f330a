#!/usr/bin/env python3
"""STOMP 1.0 and 1.1 with stomp.py against Muster.

Usage: stomp_versions.py VERSION HOST PORT CERT KEY CA PARTY

VERSION is 1.0 or 1.1 (stomp.StompConnection10 or StompConnection11), over mutual TLS.
The client subscribes to a queue with ack:client (1.0) or client-individual (1.1), publishes
two messages with receipts, and acknowledges them by message-id, as those versions do:
1.0 ACKs both; 1.1 ACKs the first, NACKs the second (which comes again with
redelivered:true) and then ACKs it. Every ACK and NACK carries a receipt. It then
reconnects, subscribes again and publishes a marker: the marker must be the only message,
so the ACKs took effect (an unacknowledged queue message would have come first).
With 1.1 it also asks for heart-beats and checks the CONNECTED frame's version and heart-beat.

Prints one JSON line; exits 0 only if every check held.
"""
import json
import sys
import threading
import time

import stomp

WAIT = 15
DESTINATION = "/queue/interop-check"


class Recorder(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.receipts = set()
        self.errors = []
        self.connected = None
        self.changed = threading.Condition()

    def on_connected(self, frame):
        with self.changed:
            self.connected = dict(frame.headers)
            self.changed.notify_all()

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
            self.errors.append("%s: %s" % (frame.headers.get("message", ""), frame.body))
            self.changed.notify_all()

    def wait(self, predicate, timeout=WAIT):
        with self.changed:
            return self.changed.wait_for(predicate, timeout)


def connect(version, address, cert, key, ca):
    if version == "1.0":
        connection = stomp.StompConnection10(address, reconnect_attempts_max=1, timeout=10)
    else:
        connection = stomp.StompConnection11(address, reconnect_attempts_max=1, timeout=10, heartbeats=(4000, 4000))
    connection.set_ssl(for_hosts=address, key_file=key, cert_file=cert, ca_certs=ca)
    recorder = Recorder()
    connection.set_listener("recorder", recorder)
    connection.connect(wait=True)
    return connection, recorder


def ack(version, connection, message, receipt):
    if version == "1.0":
        connection.ack(message.headers["message-id"], receipt=receipt)
    else:
        connection.ack(message.headers["message-id"], message.headers["subscription"], receipt=receipt)


def main():
    version, host, port, cert, key, ca, party = sys.argv[1:8]
    address = [(host, int(port))]
    result = {"version": version}
    failures = []

    def check(name, held):
        result[name] = bool(held)
        if not held:
            failures.append(name)
        return held

    connection, recorder = connect(version, address, cert, key, ca)
    check("connected", connection.is_connected())
    recorder.wait(lambda: recorder.connected is not None)  # listeners hear of CONNECTED after connect() returns
    check("connected_version", (recorder.connected or {}).get("version") == version)
    if version == "1.1":
        result["heart_beat"] = (recorder.connected or {}).get("heart-beat")
        check("heart_beats_agreed", result["heart_beat"] not in (None, "0,0"))
    mode = "client" if version == "1.0" else "client-individual"
    connection.subscribe(destination=DESTINATION, id="v-1", ack=mode, headers={"receipt": "sub-1"})
    check("subscribed", recorder.wait(lambda: "sub-1" in recorder.receipts))
    for number in (1, 2):
        connection.send(destination=DESTINATION, body="message %d over STOMP %s" % (number, version),
                        headers={"receipt": "send-%d" % number, "x-adapter": "stomp.py %s" % version})
        check("send_%d_receipt" % number, recorder.wait(lambda: "send-%d" % number in recorder.receipts))
    check("received_two", recorder.wait(lambda: len(recorder.messages) >= 2))
    if len(recorder.messages) >= 2:
        first, second = recorder.messages[0], recorder.messages[1]
        result["message_id"] = first.headers.get("message-id")
        check("sender_stamped", first.headers.get("muster-sender") == party)
        check("custom_header", first.headers.get("x-adapter") == "stomp.py %s" % version)
        ack(version, connection, first, "ack-1")
        check("ack_1_receipt", recorder.wait(lambda: "ack-1" in recorder.receipts))
        if version == "1.1":
            connection.nack(second.headers["message-id"], second.headers["subscription"], receipt="nack-2")
            check("nack_receipt", recorder.wait(lambda: "nack-2" in recorder.receipts))
            check("redelivered_after_nack", recorder.wait(lambda: len(recorder.messages) >= 3))
            if len(recorder.messages) >= 3:
                second = recorder.messages[2]
                check("redelivered_flag", second.headers.get("redelivered") == "true")
        ack(version, connection, second, "ack-2")
        check("ack_2_receipt", recorder.wait(lambda: "ack-2" in recorder.receipts))
    connection.disconnect(receipt="bye")

    connection, recorder = connect(version, address, cert, key, ca)
    connection.subscribe(destination=DESTINATION, id="v-2", ack=mode, headers={"receipt": "sub-2"})
    check("resubscribed", recorder.wait(lambda: "sub-2" in recorder.receipts))
    connection.send(destination=DESTINATION, body="marker", headers={"receipt": "send-marker"})
    check("marker_receipt", recorder.wait(lambda: "send-marker" in recorder.receipts))
    check("marker_received", recorder.wait(lambda: len(recorder.messages) >= 1))
    time.sleep(0.3)  # room for anything that should not come
    result["after_reconnect"] = [message.body for message in recorder.messages]
    check("nothing_redelivered", result["after_reconnect"] == ["marker"])
    if recorder.messages:
        ack(version, connection, recorder.messages[0], "ack-marker")
        check("ack_marker_receipt", recorder.wait(lambda: "ack-marker" in recorder.receipts))
    connection.disconnect(receipt="bye")
    result["errors"] = recorder.errors
    check("no_errors", not recorder.errors)
    result["failures"] = failures
    print(json.dumps(result, ensure_ascii=False))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
