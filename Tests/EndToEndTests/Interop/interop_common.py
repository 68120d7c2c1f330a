"""What the stomp.py interoperability scripts share: a listener that records every frame a
connection receives and lets the script wait for one, the mutual-TLS STOMP 1.2 connection,
and the JSON lines the scripts print for the Swift tests to read.

The scripts import it from their own directory (Python puts a script's directory first on
its path).
"""
import json
import threading

import stomp

WAIT = 20  # seconds any single expected frame may take (only turns a hang into a failure)


class Recorder(stomp.ConnectionListener):
    """Everything one connection receives, with a condition to wait on."""

    def __init__(self):
        self.messages = []
        self.receipts = {}  # receipt-id: the RECEIPT frame
        self.errors = []  # ERROR frames
        self.disconnected = False
        self.heartbeat_timeout = False
        self.changed = threading.Condition()

    def _note(self, change):
        with self.changed:
            change()
            self.changed.notify_all()

    def on_message(self, frame):
        self._note(lambda: self.messages.append(frame))

    def on_receipt(self, frame):
        self._note(lambda: self.receipts.__setitem__(frame.headers.get("receipt-id"), frame))

    def on_error(self, frame):
        self._note(lambda: self.errors.append(frame))

    def on_disconnected(self):
        self._note(lambda: setattr(self, "disconnected", True))

    def on_heartbeat_timeout(self):
        self._note(lambda: setattr(self, "heartbeat_timeout", True))

    def wait(self, predicate, timeout=WAIT):
        """Waits until `predicate()` holds; False if it still does not after `timeout` seconds."""
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def error_texts(self):
        """The ERROR frames received, as "message body" texts."""
        with self.changed:
            return [("%s %s" % (error.headers.get("message", ""), error.body)).strip() for error in self.errors]

    def diagnostics(self):
        """Everything received, for a report that says what arrived instead of what was expected."""
        with self.changed:
            return {
                "messages": [{"headers": dict(m.headers), "body": m.body} for m in self.messages],
                "receipts": sorted(r for r in self.receipts if r),
                "errors": [{"headers": dict(e.headers), "body": e.body} for e in self.errors],
                "disconnected": self.disconnected,
            }


def connection(host, port, ca, cert=None, key=None, heartbeats=(0, 0), heart_beat_receive_scale=1.5, listener=None):
    """A stomp.py STOMP 1.2 connection to HOST:PORT over TLS, trusting CA for the broker and
    presenting CERT and KEY (no client certificate without them), with `listener` (a new
    Recorder by default) listening. Returns (connection, listener); nothing is sent yet."""
    address = [(host, int(port))]
    client = stomp.Connection12(address, reconnect_attempts_max=1, timeout=10, heartbeats=heartbeats,
                                heart_beat_receive_scale=heart_beat_receive_scale)
    if cert:
        client.set_ssl(for_hosts=address, key_file=key, cert_file=cert, ca_certs=ca)
    else:
        client.set_ssl(for_hosts=address, ca_certs=ca)
    listener = listener if listener is not None else Recorder()
    client.set_listener("recorder", listener)
    return client, listener


def connect(host, port, ca, cert=None, key=None, **options):
    """`connection(...)`, then CONNECT, waiting for CONNECTED."""
    client, listener = connection(host, port, ca, cert, key, **options)
    client.connect(wait=True)
    return client, listener


def emit(**fields):
    """Prints one JSON line (the Swift tests read the scripts' output line by line)."""
    print(json.dumps(fields, ensure_ascii=False), flush=True)
