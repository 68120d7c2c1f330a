import CoreMetrics
import MusterBroker
import MusterProtocol
import MusterStomp
import Synchronization

/// The broker's counters, through swift-metrics: no-ops until a metrics backend is bootstrapped
/// (`muster serve` with `web.metrics-listen`), which must happen before the first is used, as
/// each is made once. Gauges read at scrape time are set by the serve command (`BrokerServer.metricsSnapshot`).
public enum ServerMetrics {
    static let framesReceived: [StompCommand: Counter] = Dictionary(uniqueKeysWithValues: StompCommand.allCases.map {
        ($0, Counter(label: "muster_frames_received_total", dimensions: [("command", $0.rawValue)]))
    })
    static let framesSent: [StompCommand: Counter] = Dictionary(uniqueKeysWithValues: StompCommand.allCases.map {
        ($0, Counter(label: "muster_frames_sent_total", dimensions: [("command", $0.rawValue)]))
    })
    static let connectionsAccepted = Counter(label: "muster_connections_accepted_total")
    static let messagesStored = Counter(label: "muster_messages_stored_total")

    /// Makes the counters now, so that a scrape shows them at zero before anything happened.
    public static func prepare() {
        _ = (framesReceived.count, framesSent.count, connectionsAccepted, messagesStored, handshakeFailures.count)
    }

    static let handshakeFailures: [HandshakeFailureKind: Counter] = Dictionary(uniqueKeysWithValues: HandshakeFailureKind.allCases.map {
        ($0, Counter(label: "muster_tls_handshake_failures_total", dimensions: [("reason", $0.rawValue)]))
    })

    static func handshakeFailed(_ kind: HandshakeFailureKind) {
        handshakeFailures[kind]?.increment()
    }

    /// Redeliveries and dead letters, by destination, from the delivery events as they are
    /// recorded (both are rare: counted through the factory).
    /// Called with the broker's lock held: a counter once made is kept (no factory lookup then).
    static func note(_ events: [LedgerEvent]) {
        for event in events {
            switch event.kind {
            case .delivered where event.deliveryCount > 1, .consumed where event.deliveryCount > 1:
                counter("muster_redeliveries_total", event.destination).increment()
            case .deadLettered:
                counter("muster_dead_letters_total", event.destination).increment()
            default: break
            }
        }
    }

    private static let perDestination = Mutex<[String: [Destination: Counter]]>([:])

    private static func counter(_ label: String, _ destination: Destination) -> Counter {
        perDestination.withLock { counters in
            if let counter = counters[label]?[destination] { return counter }
            let counter = Counter(label: label, dimensions: [("destination", destination.description)])
            counters[label, default: [:]][destination] = counter
            return counter
        }
    }

    /// Refusals are rare: each is counted through the factory, by its error code.
    static func refused(code: String) {
        Counter(label: "muster_refusals_total", dimensions: [("code", code)]).increment()
    }
}
