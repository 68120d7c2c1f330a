public import MusterProtocol
/// What happened to one delivery of one message to one consumer. Every event is recorded in
/// the log, so the log shows who received and acknowledged what, when; and the consumers'
/// state after a restart is rebuilt from these events.
public struct LedgerEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Sent to a subscription that must acknowledge it.
        case delivered
        /// Sent to an `ack:auto` subscription: delivered and settled at once.
        case consumed
        case acked
        /// NACKed with requeue: delivered again.
        case nacked
        /// Not acknowledged within the ack-wait: delivered again.
        case expired
        /// Its subscription ended before it was acknowledged: delivered again.
        case released
        /// Moved to the dead-letter destination (NACK without requeue, or max-deliveries).
        case deadLettered = "dead-lettered"
        /// Log retention removed it before it was settled.
        case pruned

        /// After this event the message is done for the consumer.
        public var isTerminal: Bool { self == .consumed || self == .acked || self == .deadLettered || self == .pruned }
    }

    public let kind: Kind
    public let consumer: ConsumerName
    public let generation: UInt64
    /// The message's destination and offset.
    public let destination: Destination
    public let offset: UInt64
    /// The party and subscription the delivery went to.
    public let party: PartyIdentity
    public let subscriptionID: String
    /// Which delivery of the message this is (1 for the first).
    public let deliveryCount: Int
    /// When that delivery was sent (ms since 1970).
    public let deliveredAt: Int64
    /// When this event happened (ms since 1970).
    public let at: Int64
    /// Why (for expiries, NACKs and dead letters).
    public let reason: String?

    public init(kind: Kind, consumer: ConsumerName, generation: UInt64, destination: Destination, offset: UInt64,
                party: PartyIdentity, subscriptionID: String, deliveryCount: Int, deliveredAt: Int64, at: Int64, reason: String? = nil) {
        self.kind = kind
        self.consumer = consumer
        self.generation = generation
        self.destination = destination
        self.offset = offset
        self.party = party
        self.subscriptionID = subscriptionID
        self.deliveryCount = deliveryCount
        self.deliveredAt = deliveredAt
        self.at = at
        self.reason = reason
    }
}

/// A message the broker must move to a dead-letter destination.
public struct DeadLetter: Sendable {
    public let message: StoredMessage
    public let target: Destination
    public let deliveryCount: Int
    public let reason: String
    /// The `dead-lettered` event, recorded once the dead letter is stored.
    public let event: LedgerEvent
}
