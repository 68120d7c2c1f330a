public import MusterProtocol
/// How a destination's tracked deliveries behave: how long the broker waits for an ACK,
/// how often it delivers a message at most, and where messages go that cannot be delivered.
public struct DeliveryPolicy: Sendable, Equatable {
    /// The dead-letter destination when none is configured.
    public static let defaultDeadLetter = Destination(kind: .queue, name: "muster.dead-letters")

    /// Milliseconds a delivery may stay unacknowledged before it is redelivered.
    public var ackWait: Int64
    /// Deliveries after which a message is dead-lettered instead of redelivered; nil: unlimited.
    public var maxDeliveries: Int?
    public var deadLetter: Destination

    public init(ackWait: Int64 = 30_000, maxDeliveries: Int? = nil, deadLetter: Destination = DeliveryPolicy.defaultDeadLetter) {
        self.ackWait = ackWait
        self.maxDeliveries = maxDeliveries
        self.deadLetter = deadLetter
    }
}

/// Per-destination delivery policies: the first rule whose pattern matches wins, else the default.
/// A pattern is an exact destination, a prefix ending in `*`, or `*` alone.
public struct DeliveryRules: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public let pattern: String
        public let policy: DeliveryPolicy

        public init(pattern: String, policy: DeliveryPolicy) {
            self.pattern = pattern
            self.policy = policy
        }

        func matches(_ destination: Destination) -> Bool {
            let text = destination.description
            if pattern.hasSuffix("*") { return text.hasPrefix(pattern.dropLast()) }
            return text == pattern
        }
    }

    public var rules: [Rule]
    public var fallback: DeliveryPolicy
    /// Durable subscriptions one party may keep (each holds its place in the log for ever).
    public var maxDurablePerParty: Int
    /// Log records fan-out may lag before publishers wait (`PublisherFlowControl`; `limits: max-fan-out-lag`).
    public var maxFanOutLag: UInt64 = PublisherFlowControl.defaultLimit

    public init(rules: [Rule] = [], fallback: DeliveryPolicy = DeliveryPolicy(), maxDurablePerParty: Int = 100) {
        self.rules = rules
        self.fallback = fallback
        self.maxDurablePerParty = maxDurablePerParty
    }

    public func policy(for destination: Destination) -> DeliveryPolicy {
        rules.first { $0.matches(destination) }?.policy ?? fallback
    }
}
