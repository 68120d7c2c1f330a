import Synchronization

/// A connection the broker can hand deliveries to. `deliver` is called while the broker
/// holds its lock (that keeps log order per destination), so it must only queue the bytes.
public protocol DeliveryTarget: AnyObject, Sendable {
    func deliver(_ delivery: Delivery)
}

/// The thread-safe broker: every SEND passes through `publish` — policy gate, then the
/// store, then routing in store order — and every subscription change through the core.
public final class Broker: Sendable {
    private struct State: ~Copyable {
        var core = BrokerCore()
        var targets: [UInt64: any DeliveryTarget] = [:]
    }

    public let store: any MessageStore
    public let gate: any PublishGate
    private let state = Mutex(State())
    private let nextSessionID = Atomic<UInt64>(1)

    public init(store: any MessageStore = InMemoryMessageStore(), gate: any PublishGate = OpenGate()) {
        self.store = store
        self.gate = gate
    }

    /// Registers a connected session and returns its id.
    public func attach(party: PartyIdentity, target: any DeliveryTarget) -> UInt64 {
        let sessionID = nextSessionID.wrappingAdd(1, ordering: .relaxed).oldValue
        state.withLock { state in
            state.core.attach(sessionID: sessionID, party: party)
            state.targets[sessionID] = target
        }
        return sessionID
    }

    /// Forgets a session; its unacknowledged queue messages go to other consumers.
    public func detach(sessionID: UInt64) {
        state.withLock { state in
            let deliveries = state.core.detach(sessionID: sessionID)
            state.targets[sessionID] = nil
            Self.perform(deliveries, with: state.targets)
        }
    }

    /// Accepts a publication: checks policy, stores it, then routes it in store order.
    /// `completion` reports the stored message (for the receipt) or the refusal.
    public func publish(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        if let refusal = gate.check(publication) {
            completion(.failure(refusal))
            return
        }
        store.append(publication) { [self] result in
            if case .success(let message) = result {
                state.withLock { state in
                    Self.perform(state.core.route(message), with: state.targets)
                }
            }
            completion(result)
        }
    }

    public func subscribe(sessionID: UInt64, party: PartyIdentity, subscriptionID: String, destination: Destination,
                          mode: AckMode, prefetch: Int?) throws(BrokerError) {
        if let refusal = gate.checkSubscribe(destination, by: party) { throw refusal }
        try mutate { core throws(BrokerError) in
            try core.subscribe(sessionID: sessionID, subscriptionID: subscriptionID, destination: destination, mode: mode, prefetch: prefetch)
        }
    }

    public func unsubscribe(sessionID: UInt64, subscriptionID: String) throws(BrokerError) {
        try mutate { core throws(BrokerError) in try core.unsubscribe(sessionID: sessionID, subscriptionID: subscriptionID) }
    }

    public func acknowledge(sessionID: UInt64, ackID: String) throws(BrokerError) {
        try mutate { core throws(BrokerError) in try core.acknowledge(sessionID: sessionID, ackID: ackID) }
    }

    public func reject(sessionID: UInt64, ackID: String, requeue: Bool) throws(BrokerError) {
        try mutate { core throws(BrokerError) in try core.reject(sessionID: sessionID, ackID: ackID, requeue: requeue) }
    }

    /// Runs `body` while no message is routed (a subscriber that caught up from the log
    /// rejoins live delivery here without a gap).
    public func whileRoutingPaused<Result>(_ body: () -> Result) -> Result {
        state.withLock { _ in body() }
    }

    /// Reads the routing state (for inspection and tests).
    public func inspect<Result>(_ body: (BrokerCore) -> Result) -> Result {
        state.withLock { body($0.core) }
    }

    private func mutate(_ body: (inout BrokerCore) throws(BrokerError) -> [Delivery]) throws(BrokerError) {
        try state.withLock { (state: inout State) throws(BrokerError) in
            let deliveries = try body(&state.core)
            Self.perform(deliveries, with: state.targets)
        }
    }

    private static func perform(_ deliveries: [Delivery], with targets: [UInt64: any DeliveryTarget]) {
        for delivery in deliveries {
            targets[delivery.sessionID]?.deliver(delivery)
        }
    }
}
