#!/usr/bin/env python3
"""Durable subscriptions, NACK and dead letters with stomp.py against Muster.

Usage: stomp_durable.py MODE HOST PORT CA SUBSCRIBER_CERT SUBSCRIBER_KEY PUBLISHER_CERT PUBLISHER_KEY PUBLISHER

Two parties connect over mutual TLS with STOMP 1.2: a subscriber, whose durable
client-individual subscriptions on /topic/... are checked, and a publisher (the party
PUBLISHER, which the broker must stamp as muster-sender), whose SENDs all carry receipts. Every ACK and NACK carries a receipt too, which the broker sends only once the
acknowledgement is in its log.

MODE scenarios runs three checks, one topic each:
  resume       messages 1..3 arrive, 1 and 3 are acked, the subscriber disconnects, 4 and 5 are
               published; re-subscribing with the same id gets exactly 2 (redelivered:true,
               muster-delivery-count:2), 4 and 5, then a marker message 6 sent after them.
  nack         a NACK (requeue by default) gets the message again at once with redelivered:true;
               a NACK with requeue:false moves it to /queue/muster.dead-letters with the
               muster-dead-letter-from, -offset, -deliveries and -reason headers.
  unsubscribe  UNSUBSCRIBE durable:true deletes the subscription: subscribing again with the
               same id gets only messages published after that, none of the unacked old ones
               nor one published while it was gone.

MODE restart checks a durable subscription across a broker that is killed: messages 1..4
arrive, 1 and 3 are acked, and the script prints a line {"phase": "holding", ...} while still
connected with 2 and 4 unacknowledged. It then reads "HOST PORT" of the restarted broker from
standard input, publishes 5 and 6 while the subscriber is away, re-subscribes and must get 2
and 4 again (redelivered:true, muster-delivery-count:2), then 5, 6 and a marker 7.

Prints one JSON line per scenario and a last line {"ok": ..., "failures": [...]}; exits 0
only if every check held, and 1 with the failures named otherwise.
"""
import json
import sys

from interop_common import WAIT, connect

DEAD_LETTERS = "/queue/muster.dead-letters"


class Failure(Exception):
    pass


class Client:
    """One stomp.py connection of one party."""

    serial = 0

    def __init__(self, name, host, port, cert, key, ca, heartbeats=(0, 0)):
        self.name = name
        # A heart-beat is late only after three intervals: the machine may be loaded.
        self.connection, self.recorder = connect(host, port, ca, cert, key, heartbeats=heartbeats, heart_beat_receive_scale=3)
        if not self.connection.is_connected():
            raise Failure("%s could not connect to %s:%s" % (name, host, port))

    def receipt_id(self, what):
        Client.serial += 1
        return "%s-%s-%d" % (self.name, what, Client.serial)

    def wait(self, predicate, what):
        with self.recorder.changed:
            done = self.recorder.changed.wait_for(lambda: predicate() or self.recorder.errors, WAIT)
            if self.recorder.errors:
                raise Failure("%s got an ERROR while waiting for %s: %s" % (self.name, what, self.recorder.error_texts()))
            if not done:
                raise Failure("%s: no %s within %d s" % (self.name, what, WAIT))

    def await_receipt(self, receipt, what):
        self.wait(lambda: receipt in self.recorder.receipts, "RECEIPT for " + what)

    def subscribe(self, destination, id, durable=True, prefetch=10):
        headers = {"prefetch-count": str(prefetch)}
        if durable:
            headers["durable"] = "true"
        receipt = self.receipt_id("subscribe")
        headers["receipt"] = receipt
        self.connection.subscribe(destination=destination, id=id, ack="client-individual", headers=headers)
        self.await_receipt(receipt, "SUBSCRIBE %s id:%s" % (destination, id))

    def unsubscribe(self, id, durable):
        receipt = self.receipt_id("unsubscribe")
        headers = {"receipt": receipt}
        if durable:
            headers["durable"] = "true"
        self.connection.unsubscribe(id=id, headers=headers)
        self.await_receipt(receipt, "UNSUBSCRIBE id:%s durable:%s" % (id, durable))

    def send(self, destination, body):
        receipt = self.receipt_id("send")
        self.connection.send(destination=destination, body=body, headers={"receipt": receipt})
        self.await_receipt(receipt, "SEND of %r" % body)

    def ack(self, message):
        receipt = self.receipt_id("ack")
        self.connection.ack(message.headers["ack"], receipt=receipt)
        self.await_receipt(receipt, "ACK of %r" % message.body)

    def nack(self, message, **headers):
        receipt = self.receipt_id("nack")
        self.connection.nack(message.headers["ack"], receipt=receipt, **headers)
        self.await_receipt(receipt, "NACK %s of %r" % (headers, message.body))

    def messages(self, subscription):
        with self.recorder.changed:
            return [m for m in self.recorder.messages if m.headers.get("subscription") == subscription]

    def take_until(self, subscription, last_body, seen=0):
        """The messages of a subscription after the first `seen`, up to the one whose body is `last_body`."""
        def arrived():
            return any(m.body == last_body for m in self.messages(subscription)[seen:])
        self.wait(arrived, "message %r on subscription %s" % (last_body, subscription))
        taken = []
        for message in self.messages(subscription)[seen:]:
            taken.append(message)
            if message.body == last_body:
                return taken
        return taken

    def take(self, subscription, count, seen=0):
        self.wait(lambda: len(self.messages(subscription)) >= seen + count,
                  "%d message(s) on subscription %s" % (count, subscription))
        return self.messages(subscription)[seen:seen + count]

    def disconnect(self):
        if not self.connection.is_connected():
            return
        receipt = self.receipt_id("disconnect")
        self.connection.disconnect(receipt=receipt)
        with self.recorder.changed:
            self.recorder.changed.wait_for(lambda: self.recorder.disconnected, WAIT)

    def await_lost(self):
        """Waits until the connection is gone (the broker went away)."""
        with self.recorder.changed:
            if not self.recorder.changed.wait_for(lambda: self.recorder.disconnected or self.recorder.heartbeat_timeout, WAIT):
                raise Failure("%s did not notice that the broker went away within %d s" % (self.name, WAIT))


class Checks:
    def __init__(self):
        self.failures = []

    def expect(self, condition, message):
        if not condition:
            self.failures.append(message)
        return condition


def summary(message):
    """What the checks look at in a MESSAGE, for the report."""
    return {
        "body": message.body,
        "redelivered": message.headers.get("redelivered"),
        "delivery_count": message.headers.get("muster-delivery-count"),
        "offset": message.headers.get("x-stream-offset"),
    }


def expect_deliveries(checks, scenario, received, expected):
    """`expected`: (body, delivery count) in order; a count above 1 means redelivered:true, 1 redelivered:false."""
    got = [(m.body, m.headers.get("muster-delivery-count"), m.headers.get("redelivered")) for m in received]
    want = [(body, str(count), "true" if count > 1 else "false") for body, count in expected]
    checks.expect(got == want, "%s: expected (body, muster-delivery-count, redelivered) %s, got %s" % (scenario, want, got))


# MARK: scenarios


def resume(args, checks, report):
    topic, id = "/topic/durable-resume", "resume-inbox"
    subscriber = Client("subscriber", args.host, args.port, args.sub_cert, args.sub_key, args.ca)
    publisher = Client("publisher", args.host, args.port, args.pub_cert, args.pub_key, args.ca)
    subscriber.subscribe(topic, id)
    for n in (1, 2, 3):
        publisher.send(topic, "resume %d" % n)
    first = subscriber.take_until(id, "resume 3")
    expect_deliveries(checks, "resume, first connection", first, [("resume 1", 1), ("resume 2", 1), ("resume 3", 1)])
    checks.expect(all(m.headers.get("ack") for m in first), "resume: a client-individual delivery has no ack header")
    checks.expect(all(m.headers.get("muster-sender") == args.publisher for m in first),
                  "resume: muster-sender is not %s: %s" % (args.publisher, [m.headers.get("muster-sender") for m in first]))
    by_body = {m.body: m for m in first}
    subscriber.ack(by_body["resume 1"])
    subscriber.ack(by_body["resume 3"])
    subscriber.disconnect()

    for n in (4, 5):
        publisher.send(topic, "resume %d" % n)
    again = Client("subscriber-again", args.host, args.port, args.sub_cert, args.sub_key, args.ca)
    again.subscribe(topic, id)
    # A marker published after re-subscribing: new messages go out in log order after the
    # redeliveries, so everything owed to the subscription has arrived once the marker has.
    publisher.send(topic, "resume 6")
    second = again.take_until(id, "resume 6")
    expect_deliveries(checks, "resume, after reconnecting", second,
                      [("resume 2", 2), ("resume 4", 1), ("resume 5", 1), ("resume 6", 1)])
    if len(second) >= 1 and second[0].body == "resume 2":
        checks.expect(second[0].headers.get("x-stream-offset") == by_body["resume 2"].headers.get("x-stream-offset"),
                      "resume: the redelivered message 2 has another offset than the first delivery")
        checks.expect(second[0].headers.get("ack") != by_body["resume 2"].headers.get("ack"),
                      "resume: the redelivery reuses the old ack id")
    for message in second:
        again.ack(message)
    again.unsubscribe(id, durable=True)
    checks.expect(not again.recorder.errors and not subscriber.recorder.errors, "resume: ERROR frames %s %s"
                  % (subscriber.recorder.error_texts(), again.recorder.error_texts()))
    again.disconnect()
    publisher.disconnect()
    report.update({"first": [summary(m) for m in first], "after_reconnect": [summary(m) for m in second]})


def nack(args, checks, report):
    topic, id, dead_id = "/topic/durable-nack", "nack-inbox", "dead-letters"
    subscriber = Client("subscriber", args.host, args.port, args.sub_cert, args.sub_key, args.ca)
    publisher = Client("publisher", args.host, args.port, args.pub_cert, args.pub_key, args.ca)
    subscriber.subscribe(topic, id)
    subscriber.subscribe(DEAD_LETTERS, dead_id, durable=False)
    publisher.send(topic, "nack 1")
    [first] = subscriber.take(id, 1)
    expect_deliveries(checks, "nack, first delivery", [first], [("nack 1", 1)])
    offset = first.headers.get("x-stream-offset")

    subscriber.nack(first)  # requeue defaults to true
    [again] = subscriber.take(id, 1, seen=1)
    expect_deliveries(checks, "nack, after NACK", [again], [("nack 1", 2)])
    checks.expect(again.headers.get("ack") != first.headers.get("ack"), "nack: the redelivery reuses the NACKed ack id")

    subscriber.nack(again, requeue="false")
    [dead] = subscriber.take(dead_id, 1)
    headers = dead.headers
    checks.expect(dead.body == "nack 1", "nack: the dead letter's body is %r" % dead.body)
    checks.expect(headers.get("destination") == DEAD_LETTERS, "nack: the dead letter's destination is %r" % headers.get("destination"))
    checks.expect(headers.get("muster-dead-letter-from") == topic,
                  "nack: muster-dead-letter-from is %r, not %s" % (headers.get("muster-dead-letter-from"), topic))
    checks.expect(headers.get("muster-dead-letter-offset") == offset,
                  "nack: muster-dead-letter-offset is %r, not the original offset %r" % (headers.get("muster-dead-letter-offset"), offset))
    checks.expect(headers.get("muster-dead-letter-deliveries") == "2",
                  "nack: muster-dead-letter-deliveries is %r, not 2" % headers.get("muster-dead-letter-deliveries"))
    reason = headers.get("muster-dead-letter-reason") or ""
    checks.expect("requeue:false" in reason, "nack: muster-dead-letter-reason %r does not say requeue:false" % reason)
    checks.expect(headers.get("muster-sender") == args.publisher,
                  "nack: the dead letter's muster-sender is %r, not the original sender" % headers.get("muster-sender"))
    subscriber.ack(dead)

    # The dead-lettered message is settled for the subscription: the next one it gets is new.
    publisher.send(topic, "nack 2")
    after = subscriber.take_until(id, "nack 2", seen=2)
    expect_deliveries(checks, "nack, after dead-lettering", after, [("nack 2", 1)])
    for message in after:
        subscriber.ack(message)
    subscriber.unsubscribe(id, durable=True)
    checks.expect(not subscriber.recorder.errors, "nack: ERROR frames %s" % subscriber.recorder.error_texts())
    subscriber.disconnect()
    publisher.disconnect()
    report.update({"first": summary(first), "redelivered": summary(again), "after": [summary(m) for m in after],
                   "dead_letter": {k: v for k, v in headers.items() if k.startswith("muster-dead-letter-")}})


def unsubscribe(args, checks, report):
    topic, id = "/topic/durable-cancel", "cancel-inbox"
    subscriber = Client("subscriber", args.host, args.port, args.sub_cert, args.sub_key, args.ca)
    publisher = Client("publisher", args.host, args.port, args.pub_cert, args.pub_key, args.ca)
    subscriber.subscribe(topic, id)
    for n in (1, 2):
        publisher.send(topic, "cancel %d" % n)
    pending = subscriber.take_until(id, "cancel 2")
    expect_deliveries(checks, "unsubscribe, before", pending, [("cancel 1", 1), ("cancel 2", 1)])
    subscriber.unsubscribe(id, durable=True)  # with both still unacknowledged
    publisher.send(topic, "cancel 3")  # while no subscription exists

    subscriber.subscribe(topic, id)
    publisher.send(topic, "cancel 4")
    fresh = subscriber.take_until(id, "cancel 4", seen=len(pending))
    expect_deliveries(checks, "unsubscribe, subscribed again", fresh, [("cancel 4", 1)])
    for message in fresh:
        subscriber.ack(message)
    # And the new subscription is durable in its turn.
    subscriber.disconnect()
    publisher.send(topic, "cancel 5")
    again = Client("subscriber-again", args.host, args.port, args.sub_cert, args.sub_key, args.ca)
    again.subscribe(topic, id)
    publisher.send(topic, "cancel 6")
    resumed = again.take_until(id, "cancel 6")
    expect_deliveries(checks, "unsubscribe, resumed", resumed, [("cancel 5", 1), ("cancel 6", 1)])
    for message in resumed:
        again.ack(message)
    again.unsubscribe(id, durable=True)
    checks.expect(not subscriber.recorder.errors and not again.recorder.errors,
                  "unsubscribe: ERROR frames %s %s" % (subscriber.recorder.error_texts(), again.recorder.error_texts()))
    again.disconnect()
    publisher.disconnect()
    report.update({"before": [summary(m) for m in pending], "subscribed_again": [summary(m) for m in fresh],
                   "resumed": [summary(m) for m in resumed]})


def restart(args, checks, report):
    topic, id = "/topic/durable-restart", "restart-inbox"
    # Over TLS, stomp.py notices a broker that died without closing the session (no TLS
    # close_notify) only by its missing heart-beats.
    heartbeats = (2000, 2000)
    subscriber = Client("subscriber", args.host, args.port, args.sub_cert, args.sub_key, args.ca, heartbeats)
    publisher = Client("publisher", args.host, args.port, args.pub_cert, args.pub_key, args.ca, heartbeats)
    subscriber.subscribe(topic, id)
    for n in (1, 2, 3, 4):
        publisher.send(topic, "restart %d" % n)
    first = subscriber.take_until(id, "restart 4")
    expect_deliveries(checks, "restart, before the kill", first, [("restart %d" % n, 1) for n in (1, 2, 3, 4)])
    by_body = {m.body: m for m in first}
    subscriber.ack(by_body["restart 1"])
    subscriber.ack(by_body["restart 3"])
    report["before"] = [summary(m) for m in first]
    # Still connected, with 2 and 4 unacknowledged: the broker is killed now.
    print(json.dumps({"phase": "holding", "unacked": ["restart 2", "restart 4"]}), flush=True)

    line = sys.stdin.readline().split()
    if len(line) != 2:
        raise Failure("expected 'HOST PORT' of the restarted broker on standard input, got %r" % line)
    host, port = line
    subscriber.await_lost()
    publisher.await_lost()

    publisher = Client("publisher-after", host, port, args.pub_cert, args.pub_key, args.ca)
    for n in (5, 6):
        publisher.send(topic, "restart %d" % n)  # while the subscriber is away
    again = Client("subscriber-after", host, port, args.sub_cert, args.sub_key, args.ca)
    again.subscribe(topic, id)
    publisher.send(topic, "restart 7")
    after = again.take_until(id, "restart 7")
    expect_deliveries(checks, "restart, after the restart", after,
                      [("restart 2", 2), ("restart 4", 2), ("restart 5", 1), ("restart 6", 1), ("restart 7", 1)])
    offsets = {m.body: m.headers.get("x-stream-offset") for m in first}
    for message in after:
        if message.body in ("restart 2", "restart 4"):
            checks.expect(message.headers.get("x-stream-offset") == offsets[message.body],
                          "restart: %s came back with offset %s, not %s"
                          % (message.body, message.headers.get("x-stream-offset"), offsets[message.body]))
        again.ack(message)
    again.unsubscribe(id, durable=True)
    checks.expect(not again.recorder.errors, "restart: ERROR frames %s" % again.recorder.error_texts())
    again.disconnect()
    publisher.disconnect()
    report["after"] = [summary(m) for m in after]


class Arguments:
    def __init__(self, argv):
        if len(argv) != 10:
            raise Failure("usage: stomp_durable.py MODE HOST PORT CA SUBSCRIBER_CERT SUBSCRIBER_KEY PUBLISHER_CERT PUBLISHER_KEY PUBLISHER")
        (self.mode, self.host, self.port, self.ca, self.sub_cert, self.sub_key,
         self.pub_cert, self.pub_key, self.publisher) = argv[1:10]


def main():
    checks = Checks()
    try:
        args = Arguments(sys.argv)
        scenarios = {"scenarios": [resume, nack, unsubscribe], "restart": [restart]}.get(args.mode)
        if scenarios is None:
            raise Failure("unknown mode %r: scenarios or restart" % args.mode)
        for scenario in scenarios:
            report = {}
            try:
                scenario(args, checks, report)
            except Failure as failure:
                checks.failures.append("%s: %s" % (scenario.__name__, failure))
            except Exception as error:  # stomp.py's own exceptions: a failure, named
                checks.failures.append("%s: %r" % (scenario.__name__, error))
            print(json.dumps({"scenario": scenario.__name__, **report}, ensure_ascii=False), flush=True)
    except Failure as failure:
        checks.failures.append(str(failure))
    print(json.dumps({"ok": not checks.failures, "failures": checks.failures}, ensure_ascii=False), flush=True)
    return 0 if not checks.failures else 1


if __name__ == "__main__":
    sys.exit(main())
