public import MusterProtocol
/// Names a tracked consumer: the state (read position, unacknowledged deliveries) that
/// outlives any one subscription to it.
public struct ConsumerName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let text: String

    public init(text: String) { self.text = text }

    /// A queue is one consumer shared by all its subscribers.
    public static func queue(_ destination: Destination) -> ConsumerName {
        ConsumerName(text: "queue:\(destination)")
    }

    /// A durable topic subscription: the party's own named consumer (`durable:true`, `id`).
    public static func durable(party: PartyIdentity, subscriptionID: String) -> ConsumerName {
        ConsumerName(text: "durable:\(party.jurisdiction)/\(party.party)/\(subscriptionID)")
    }

    /// A topic subscription with client acknowledgements that ends with its connection.
    public static func session(_ sessionID: UInt64, subscriptionID: String) -> ConsumerName {
        ConsumerName(text: "session:\(sessionID)/\(subscriptionID)")
    }

    public var isDurable: Bool { !text.hasPrefix("session:") }
    public var description: String { text }
    public static func < (left: ConsumerName, right: ConsumerName) -> Bool { left.text < right.text }
}

/// One subscription of one connection.
public struct SubscriberKey: Hashable, Sendable {
    public let sessionID: UInt64
    public let subscriptionID: String

    public init(sessionID: UInt64, subscriptionID: String) {
        self.sessionID = sessionID
        self.subscriptionID = subscriptionID
    }
}
