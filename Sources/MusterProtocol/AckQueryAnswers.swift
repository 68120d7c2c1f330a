/// The JSON bodies that answer acknowledgement queries (Schemas/protocol.md, "Acknowledgement
/// queries"): the broker encodes them, clients decode them.

/// An unacknowledged delivery (`delivered`) or a message waiting to be delivered again (`waiting`).
public struct PendingAck: Codable, Sendable, Equatable {
    public let consumer: String
    public let destination: String
    public let offset: UInt64
    public let party: String?
    public let subscription: String?
    public let deliveryCount: Int
    public let state: String
    /// When it was delivered (or began waiting), ms since 1970.
    public let since: Int64
    public let ageMilliseconds: Int64

    public init(consumer: String, destination: String, offset: UInt64, party: String?, subscription: String?,
                deliveryCount: Int, state: String, since: Int64, ageMilliseconds: Int64) {
        self.consumer = consumer
        self.destination = destination
        self.offset = offset
        self.party = party
        self.subscription = subscription
        self.deliveryCount = deliveryCount
        self.state = state
        self.since = since
        self.ageMilliseconds = ageMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case consumer, destination, offset, party, subscription, state, since
        case deliveryCount = "delivery-count"
        case ageMilliseconds = "age-ms"
    }
}

/// The answer to `acks-pending`.
public struct PendingAckList: Codable, Sendable {
    public let pending: [PendingAck]

    public init(pending: [PendingAck]) { self.pending = pending }
}

/// The answer to `acks-history`: what happened to the deliveries of one message.
public struct AckHistory: Codable, Sendable {
    public struct Event: Codable, Sendable, Equatable {
        public let event: String
        public let consumer: String
        public let party: String
        public let subscription: String
        public let deliveryCount: Int
        public let deliveredAt: Int64
        public let at: Int64
        public let reason: String?

        public init(event: String, consumer: String, party: String, subscription: String, deliveryCount: Int,
                    deliveredAt: Int64, at: Int64, reason: String?) {
            self.event = event
            self.consumer = consumer
            self.party = party
            self.subscription = subscription
            self.deliveryCount = deliveryCount
            self.deliveredAt = deliveredAt
            self.at = at
            self.reason = reason
        }

        enum CodingKeys: String, CodingKey {
            case event, consumer, party, subscription, at, reason
            case deliveryCount = "delivery-count"
            case deliveredAt = "delivered-at"
        }
    }

    public let destination: String
    public let offset: UInt64
    public let events: [Event]
    public let pending: [PendingAck]

    public init(destination: String, offset: UInt64, events: [Event], pending: [PendingAck]) {
        self.destination = destination
        self.offset = offset
        self.events = events
        self.pending = pending
    }
}
