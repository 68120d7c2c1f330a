public import MusterProtocol
/// What an operation on consumers asks the broker to do: send these deliveries, record
/// these events in the log, and move these messages to their dead-letter destinations.
public struct ConsumerOutput: Sendable {
    public var deliveries: [Delivery] = []
    public var events: [LedgerEvent] = []
    public var deadLetters: [DeadLetter] = []

    public init() {}

    public var isEmpty: Bool { deliveries.isEmpty && events.isEmpty && deadLetters.isEmpty }

    mutating func append(_ other: ConsumerOutput) {
        deliveries += other.deliveries
        events += other.events
        deadLetters += other.deadLetters
    }
}

/// What a consumer needs read from the log before it can deliver more.
public enum ConsumerDemand: Equatable, Sendable {
    /// Messages it must redeliver but holds no copy of (after a restart).
    case fetch([UInt64])
    /// Up to `limit` new messages of its destination from offset `from` on.
    case read(from: UInt64, limit: Int)
}

/// One unacknowledged delivery (or one waiting to be redelivered), for inspection.
public struct PendingDelivery: Sendable, Equatable {
    public enum State: String, Sendable { case delivered, waiting }
    public let consumer: ConsumerName
    public let destination: Destination
    public let offset: UInt64
    /// The party and subscription of the latest delivery (nil if it was never delivered since the restart).
    public let party: PartyIdentity?
    public let subscriptionID: String?
    public let deliveryCount: Int
    /// When the latest delivery was sent, or when the message began waiting.
    public let since: Int64
    public let state: State
}
