public import MusterProtocol
/// One tracked consumer, as a pure state machine: a queue (shared by its subscribers), a
/// durable topic subscription, or a topic subscription with client acknowledgements.
///
/// Every message of the destination at or after `readCursor` is still to be delivered; every
/// earlier one is settled, in flight (delivered, awaiting its ACK), or waiting to be
/// redelivered. New messages go out in offset order, redeliveries first. The consumer holds
/// copies only of what is in flight or waiting, which `prefetch-count` bounds; the rest stays
/// in the log. Time is an input (`now`, ms since 1970), so tests drive it with a fake clock.
public struct ConsumerState: Sendable {
    struct Attachment: Sendable {
        let party: PartyIdentity
        let mode: AckMode
        let limit: Int
        /// Ack ids in flight to this subscription, ascending.
        var inFlight: [UInt64] = []

        var capacity: Int { max(0, limit - inFlight.count) }
    }

    struct InFlight: Sendable {
        let offset: UInt64
        let subscriber: SubscriberKey
        let party: PartyIdentity
        let deliveryCount: Int
        let deliveredAt: Int64
        let message: StoredMessage
    }

    struct Waiting: Sendable {
        /// Deliveries so far.
        var deliveryCount: Int
        var message: StoredMessage?
        var lastParty: PartyIdentity?
        var lastSubscription: String?
        var since: Int64
    }

    struct Superseded: Sendable {
        let subscriber: SubscriberKey
        let explanation: String
    }

    /// Deliveries an `ack:auto` subscription takes per step (it settles them at once).
    static let autoBatch = 128
    /// How many superseded ack ids are remembered, to explain a late ACK.
    static let supersededMemory = 4096

    public let name: ConsumerName
    public let generation: UInt64
    public let destination: Destination
    public var policy: DeliveryPolicy
    public private(set) var readCursor: UInt64
    var attachments: [SubscriberKey: Attachment] = [:]
    var rotation: [SubscriberKey] = []
    var rotationIndex = 0
    var inFlight: [UInt64: InFlight] = [:]
    /// Ack ids in delivery order (settled ones are skipped lazily): the oldest delivery is first.
    var deliveryOrder: [UInt64] = []
    var deliveryOrderHead = 0
    var waiting: [UInt64: Waiting] = [:]
    var superseded: [UInt64: Superseded] = [:]
    var supersededOrder: [UInt64] = []

    public init(name: ConsumerName, generation: UInt64, destination: Destination, policy: DeliveryPolicy, readCursor: UInt64) {
        self.name = name
        self.generation = generation
        self.destination = destination
        self.policy = policy
        self.readCursor = readCursor
    }

    public var subscriberCount: Int { attachments.count }
    public var inFlightCount: Int { inFlight.count }
    public var waitingCount: Int { waiting.count }

    /// The lowest offset not yet settled: nothing below it needs reading again.
    public var floor: UInt64 {
        min(readCursor, inFlight.values.map(\.offset).min() ?? .max, waiting.keys.min() ?? .max)
    }

    // MARK: Subscribers

    /// Adds a subscriber; `limit` bounds its unacknowledged deliveries (`prefetch-count`).
    /// Waiting messages go out on the next `offer` or `tick`.
    public mutating func attach(_ key: SubscriberKey, party: PartyIdentity, mode: AckMode, limit: Int) {
        attachments[key] = Attachment(party: party, mode: mode, limit: mode == .auto ? Self.autoBatch : max(1, limit))
        rotation.append(key)
    }

    public func isAttached(_ key: SubscriberKey) -> Bool { attachments[key] != nil }

    /// The subscription ended: what it had in flight is released for redelivery (to another subscriber, if any).
    /// With `dispatch: false` the released messages only wait (the caller dispatches once every
    /// subscription of a closing connection is gone, so none is handed back to it).
    public mutating func detach(_ key: SubscriberKey, now: Int64, ackIDs: inout UInt64, dispatch: Bool = true) -> ConsumerOutput {
        guard let attachment = attachments.removeValue(forKey: key) else { return ConsumerOutput() }
        if let index = rotation.firstIndex(of: key) {
            rotation.remove(at: index)
            if rotationIndex > index { rotationIndex -= 1 }
            if rotationIndex >= rotation.count { rotationIndex = 0 }
        }
        var output = ConsumerOutput()
        for ackID in attachment.inFlight {
            guard let entry = inFlight.removeValue(forKey: ackID) else { continue }
            remember(ackID, subscriber: key, "its subscription ended before the ACK; the message was released for redelivery")
            output.events.append(event(.released, entry, at: now, reason: "subscription ended"))
            requeue(entry, now: now, output: &output, reason: nil)
        }
        if dispatch { output.append(dispatchWaiting(now: now, ackIDs: &ackIDs)) }
        return output
    }

    // MARK: Delivering

    /// Whether `demand(head:)` would ask for anything (without building the request).
    public func hasDemand(head: UInt64) -> Bool {
        guard attachments.values.contains(where: { $0.capacity > 0 }) else { return false }
        if waiting.isEmpty { return readCursor < head }
        return waiting.values.contains { $0.message == nil }
    }

    /// What the consumer needs from the log to deliver more; nil when it has no room or needs nothing.
    public func demand(head: UInt64) -> ConsumerDemand? {
        let capacity = totalCapacity
        guard capacity > 0 else { return nil }
        let missing = waiting.filter { $0.value.message == nil }.keys.sorted().prefix(capacity)
        if !missing.isEmpty { return .fetch(Array(missing)) }
        guard waiting.isEmpty, readCursor < head else { return nil }
        return .read(from: readCursor, limit: capacity)
    }

    /// Messages read from the log for this consumer: copies of waiting messages, and new
    /// messages of the destination. `scannedTo` is where the read stopped: every message of the
    /// destination below it was among `messages`. `missing`: waiting messages the log no longer
    /// holds (retention removed them); they are dropped, on the record.
    public mutating func offer(_ messages: [StoredMessage], scannedTo: UInt64?, missing: [UInt64] = [], now: Int64, ackIDs: inout UInt64) -> ConsumerOutput {
        var output = ConsumerOutput()
        for offset in missing {
            guard let entry = waiting.removeValue(forKey: offset) else { continue }
            output.events.append(waitingEvent(.pruned, offset: offset, entry, at: now, reason: "removed by log retention before it was acknowledged"))
        }
        for message in messages where waiting[message.offset]?.message == nil && waiting[message.offset] != nil {
            waiting[message.offset]!.message = message
        }
        output.append(dispatchWaiting(now: now, ackIDs: &ackIDs))
        guard waiting.isEmpty else { return output }
        for message in messages where message.offset >= readCursor && message.destination == destination {
            guard let key = nextSubscriberWithCapacity() else { return output }
            output.append(deliver(message, deliveryCount: 1, to: key, now: now, ackIDs: &ackIDs))
            readCursor = message.offset + 1
        }
        if let scannedTo { readCursor = max(readCursor, scannedTo) }
        return output
    }

    /// Sends waiting messages (those with copies) to subscribers with room, lowest offset first.
    mutating func dispatchWaiting(now: Int64, ackIDs: inout UInt64) -> ConsumerOutput {
        var output = ConsumerOutput()
        guard !waiting.isEmpty, totalCapacity > 0 || policy.maxDeliveries != nil else { return output }
        for offset in waiting.keys.sorted() {
            guard let entry = waiting[offset], let message = entry.message else { continue }
            if let limit = policy.maxDeliveries, entry.deliveryCount >= limit, canDeadLetter {
                waiting[offset] = nil
                let reason = "max-deliveries (\(limit)) reached"
                let recorded = waitingEvent(.deadLettered, offset: offset, entry, at: now, reason: reason)
                output.deadLetters.append(DeadLetter(message: message, target: policy.deadLetter, deliveryCount: entry.deliveryCount,
                                                     reason: reason, event: recorded))
                output.events.append(recorded)
                continue
            }
            guard let key = nextSubscriberWithCapacity() else { break }
            waiting[offset] = nil
            output.append(deliver(message, deliveryCount: entry.deliveryCount + 1, to: key, now: now, ackIDs: &ackIDs))
        }
        return output
    }

    private mutating func deliver(_ message: StoredMessage, deliveryCount: Int, to key: SubscriberKey, now: Int64, ackIDs: inout UInt64) -> ConsumerOutput {
        var output = ConsumerOutput()
        let attachment = attachments[key]!
        guard attachment.mode != .auto else {
            output.deliveries.append(Delivery(sessionID: key.sessionID, subscriptionID: key.subscriptionID, message: message,
                                              ackID: nil, deliveryCount: deliveryCount, tracked: true))
            output.events.append(LedgerEvent(kind: .consumed, consumer: name, generation: generation, destination: destination,
                                             offset: message.offset, party: attachment.party, subscriptionID: key.subscriptionID,
                                             deliveryCount: deliveryCount, deliveredAt: now, at: now))
            return output
        }
        ackIDs += 1
        let ackID = ackIDs
        let entry = InFlight(offset: message.offset, subscriber: key, party: attachment.party, deliveryCount: deliveryCount,
                             deliveredAt: now, message: message)
        inFlight[ackID] = entry
        deliveryOrder.append(ackID)
        attachments[key]!.inFlight.append(ackID)
        output.deliveries.append(Delivery(sessionID: key.sessionID, subscriptionID: key.subscriptionID, message: message,
                                          ackID: ackID, deliveryCount: deliveryCount, tracked: true))
        output.events.append(event(.delivered, entry, at: now))
        return output
    }

    var totalCapacity: Int { attachments.values.reduce(0) { $0 + $1.capacity } }

    /// Round-robin over subscribers, skipping those without room.
    private mutating func nextSubscriberWithCapacity() -> SubscriberKey? {
        guard !rotation.isEmpty else { return nil }
        for step in 0..<rotation.count {
            let index = (rotationIndex + step) % rotation.count
            let key = rotation[index]
            guard let attachment = attachments[key], attachment.capacity > 0 else { continue }
            rotationIndex = (index + 1) % rotation.count
            return key
        }
        return nil
    }
}

/// A delivery not yet settled (in flight or waiting to be delivered again), as the consumer
/// registry keeps it: a restart makes it wait for redelivery.
public struct UnsettledDelivery: Sendable, Equatable {
    public let offset: UInt64
    public let deliveryCount: Int
    public let party: PartyIdentity?
    public let subscriptionID: String?
    /// When it was last delivered (or began to wait).
    public let since: Int64

    public init(offset: UInt64, deliveryCount: Int, party: PartyIdentity?, subscriptionID: String?, since: Int64) {
        self.offset = offset
        self.deliveryCount = deliveryCount
        self.party = party
        self.subscriptionID = subscriptionID
        self.since = since
    }
}

extension ConsumerState {
    /// Every delivery in flight or waiting, by offset.
    public var unsettledDeliveries: [UnsettledDelivery] {
        let flying = inFlight.values.map { entry in
            UnsettledDelivery(offset: entry.offset, deliveryCount: entry.deliveryCount, party: entry.party,
                              subscriptionID: entry.subscriber.subscriptionID, since: entry.deliveredAt)
        }
        let waitingNow = waiting.map { offset, entry in
            UnsettledDelivery(offset: offset, deliveryCount: entry.deliveryCount, party: entry.lastParty,
                              subscriptionID: entry.lastSubscription, since: entry.since)
        }
        return (flying + waitingNow).sorted { $0.offset < $1.offset }
    }
}
