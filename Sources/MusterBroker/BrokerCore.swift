import MusterStomp

/// A message handed to one subscription of one session.
public struct Delivery: Sendable {
    public let sessionID: UInt64
    public let subscriptionID: String
    public let message: StoredMessage
    /// Present for `client` and `client-individual` subscriptions: what the ACK must name.
    public let ackID: UInt64?
    /// 1 for the first delivery of this message to this subscription (or queue), then 2, 3, …
    public let deliveryCount: Int
}

/// The routing state of the broker, as a pure state machine: sessions, subscriptions,
/// queue backlogs and unacknowledged deliveries. Every operation returns the deliveries
/// it causes; the `Broker` wrapper performs them. No I/O, no clocks, no locks.
public struct BrokerCore: Sendable {
    struct SubscriptionKey: Hashable, Sendable {
        let sessionID: UInt64
        let subscriptionID: String
    }

    struct Subscription: Sendable {
        let destination: Destination
        var ledger: AckLedger
        let prefetch: Int?
        var hasCapacity: Bool { ledger.mode == .auto || prefetch.map { ledger.count < $0 } ?? true }
    }

    struct Session: Sendable {
        let party: PartyIdentity
        var subscriptions: [String: Subscription] = [:]
    }

    var sessions: [UInt64: Session] = [:]
    var topicSubscribers: [Destination: [SubscriptionKey]] = [:]
    var queues: [Destination: QueueState] = [:]
    var ackOwners: [UInt64: SubscriptionKey] = [:]
    var nextAckID: UInt64 = 1

    public init() {}

    public mutating func attach(sessionID: UInt64, party: PartyIdentity) {
        sessions[sessionID] = Session(party: party)
    }

    /// Ends a session; its unacknowledged queue messages go back to their queues.
    public mutating func detach(sessionID: UInt64) -> [Delivery] {
        guard let session = sessions[sessionID] else { return [] }
        // Leave every queue's rotation first, so that messages requeued from one of this
        // session's subscriptions are never handed to another of its subscriptions.
        for (id, subscription) in session.subscriptions where subscription.destination.kind == .queue {
            queues[subscription.destination]?.removeConsumer(SubscriptionKey(sessionID: sessionID, subscriptionID: id))
        }
        var deliveries: [Delivery] = []
        for id in session.subscriptions.keys.sorted() {
            deliveries += (try? unsubscribe(sessionID: sessionID, subscriptionID: id)) ?? []
        }
        sessions[sessionID] = nil
        return deliveries
    }

    public mutating func subscribe(sessionID: UInt64, subscriptionID: String, destination: Destination,
                                   mode: AckMode, prefetch: Int?) throws(BrokerError) -> [Delivery] {
        guard sessions[sessionID] != nil else { throw BrokerError(.notConnected, "session \(sessionID) is not attached") }
        guard sessions[sessionID]!.subscriptions[subscriptionID] == nil else {
            throw BrokerError(.duplicateSubscription, "subscription id '\(subscriptionID)' is already in use on this connection")
        }
        sessions[sessionID]!.subscriptions[subscriptionID] = Subscription(destination: destination, ledger: AckLedger(mode: mode), prefetch: prefetch)
        let key = SubscriptionKey(sessionID: sessionID, subscriptionID: subscriptionID)
        switch destination.kind {
        case .topic:
            topicSubscribers[destination, default: []].append(key)
            return []
        case .queue:
            queues[destination, default: QueueState()].addConsumer(key)
            return dispatchQueue(destination)
        }
    }

    public mutating func unsubscribe(sessionID: UInt64, subscriptionID: String) throws(BrokerError) -> [Delivery] {
        guard var subscription = sessions[sessionID]?.subscriptions.removeValue(forKey: subscriptionID) else {
            throw BrokerError(.unknownSubscription, "no subscription with id '\(subscriptionID)' on this connection")
        }
        let key = SubscriptionKey(sessionID: sessionID, subscriptionID: subscriptionID)
        let unsettled = subscription.ledger.drain()
        for pending in unsettled { ackOwners[pending.ackID] = nil }
        let destination = subscription.destination
        switch destination.kind {
        case .topic:
            topicSubscribers[destination]?.removeAll { $0 == key }
            if topicSubscribers[destination]?.isEmpty == true { topicSubscribers[destination] = nil }
            return []
        case .queue:
            queues[destination]?.removeConsumer(key)
            // At-least-once: what the consumer never acknowledged goes back, first in line.
            queues[destination]?.requeueAtFront(unsettled.map { QueuedMessage(message: $0.message, deliveryCount: $0.deliveryCount) })
            return dispatchQueue(destination)
        }
    }

    /// Routes a stored message to its destination's subscribers.
    public mutating func route(_ message: StoredMessage) -> [Delivery] {
        let destination = message.destination
        switch destination.kind {
        case .topic:
            var deliveries: [Delivery] = []
            for key in topicSubscribers[destination] ?? [] {
                deliveries.append(deliver(message, deliveryCount: 1, to: key))
            }
            return deliveries
        case .queue:
            queues[destination, default: QueueState()].enqueue(QueuedMessage(message: message, deliveryCount: 0))
            return dispatchQueue(destination)
        }
    }

    /// Settles a delivery (ACK). Unknown, foreign or already settled ack ids are refused.
    public mutating func acknowledge(sessionID: UInt64, ackID: String) throws(BrokerError) -> [Delivery] {
        let (key, settled) = try settle(sessionID: sessionID, ackID: ackID)
        let destination = sessions[sessionID]!.subscriptions[key.subscriptionID]!.destination
        _ = settled
        return destination.kind == .queue ? dispatchQueue(destination) : []
    }

    /// Refuses a delivery (NACK). With `requeue` the message is delivered again (to any
    /// consumer of a queue, or to the same topic subscription); without it, it is dropped.
    public mutating func reject(sessionID: UInt64, ackID: String, requeue: Bool) throws(BrokerError) -> [Delivery] {
        let (key, settled) = try settle(sessionID: sessionID, ackID: ackID)
        let destination = sessions[sessionID]!.subscriptions[key.subscriptionID]!.destination
        guard requeue else { return destination.kind == .queue ? dispatchQueue(destination) : [] }
        switch destination.kind {
        case .queue:
            queues[destination]?.requeueAtFront(settled.map { QueuedMessage(message: $0.message, deliveryCount: $0.deliveryCount) })
            return dispatchQueue(destination)
        case .topic:
            return settled.map { deliver($0.message, deliveryCount: $0.deliveryCount + 1, to: key) }
        }
    }

    /// Number of unacknowledged deliveries of a subscription (for tests and inspection).
    public func pendingCount(sessionID: UInt64, subscriptionID: String) -> Int {
        sessions[sessionID]?.subscriptions[subscriptionID]?.ledger.count ?? 0
    }

    /// Whether a session has a (live) subscription with this id.
    public func hasSubscription(sessionID: UInt64, subscriptionID: String) -> Bool {
        sessions[sessionID]?.subscriptions[subscriptionID] != nil
    }

    /// Messages waiting in a queue for a consumer.
    public func backlog(of destination: Destination) -> Int { queues[destination]?.readyCount ?? 0 }

    private mutating func settle(sessionID: UInt64, ackID text: String) throws(BrokerError) -> (SubscriptionKey, [PendingDelivery]) {
        guard let ackID = UInt64(text), let key = ackOwners[ackID], key.sessionID == sessionID,
              let settled = sessions[sessionID]?.subscriptions[key.subscriptionID]?.ledger.settle(ackID) else {
            throw BrokerError(.unknownAck, "ack id '\(text)' does not name an unsettled delivery of this connection")
        }
        for pending in settled { ackOwners[pending.ackID] = nil }
        return (key, settled)
    }

    private mutating func deliver(_ message: StoredMessage, deliveryCount: Int, to key: SubscriptionKey) -> Delivery {
        let mode = sessions[key.sessionID]!.subscriptions[key.subscriptionID]!.ledger.mode
        guard mode != .auto else {
            return Delivery(sessionID: key.sessionID, subscriptionID: key.subscriptionID, message: message, ackID: nil, deliveryCount: deliveryCount)
        }
        let ackID = nextAckID
        nextAckID += 1
        sessions[key.sessionID]!.subscriptions[key.subscriptionID]!.ledger.record(
            PendingDelivery(ackID: ackID, message: message, deliveryCount: deliveryCount))
        ackOwners[ackID] = key
        return Delivery(sessionID: key.sessionID, subscriptionID: key.subscriptionID, message: message, ackID: ackID, deliveryCount: deliveryCount)
    }

    /// Hands queued messages to consumers with capacity, round-robin.
    private mutating func dispatchQueue(_ destination: Destination) -> [Delivery] {
        guard var queue = queues[destination] else { return [] }
        var deliveries: [Delivery] = []
        while queue.readyCount > 0 {
            guard let key = queue.nextConsumer(where: { sessions[$0.sessionID]?.subscriptions[$0.subscriptionID]?.hasCapacity ?? false }) else { break }
            let queued = queue.dequeue()!
            queues[destination] = queue  // deliver() reads sessions only; keep queue state consistent
            deliveries.append(deliver(queued.message, deliveryCount: queued.deliveryCount + 1, to: key))
        }
        queues[destination] = queue
        if queue.isIdle { queues[destination] = nil }
        return deliveries
    }
}
