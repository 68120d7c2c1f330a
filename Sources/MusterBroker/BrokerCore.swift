public import MusterProtocol
/// The routing state of the broker, as a pure state machine: sessions, their subscriptions,
/// live topic subscribers, and the tracked consumers (queues, durable subscriptions, topic
/// subscriptions with client acknowledgements). Operations return what they cause; the
/// `Broker` wrapper performs it. No I/O, no clock (`now` is an input), no locks.
public struct BrokerCore: Sendable {
    /// Unacknowledged deliveries a client-acknowledged subscription gets without `prefetch-count`.
    public static let defaultPrefetch = 1000

    enum Route: Sendable {
        /// An `ack:auto` topic subscription: pushed every message as it is routed.
        case push(Destination)
        case consumer(ConsumerName)
    }

    struct Session: Sendable {
        let party: PartyIdentity
        var subscriptions: [String: Route] = [:]
    }

    var sessions: [UInt64: Session] = [:]
    var topicSubscribers: [Destination: [SubscriberKey]] = [:]
    public private(set) var consumers: [ConsumerName: ConsumerState] = [:]
    /// Durable consumers: who owns them.
    public private(set) var owners: [ConsumerName: (party: PartyIdentity, subscriptionID: String)] = [:]
    public let rules: DeliveryRules
    /// Every message below this offset has been routed; a consumer created now starts here.
    public private(set) var routedNext: UInt64
    var ackIDs: UInt64

    /// `routedNext`: the log's next offset at start; `firstAckID`: a value no earlier run used.
    public init(rules: DeliveryRules = DeliveryRules(), routedNext: UInt64 = 0, firstAckID: UInt64 = 0) {
        self.rules = rules
        self.routedNext = routedNext
        self.ackIDs = firstAckID
    }

    public mutating func attach(sessionID: UInt64, party: PartyIdentity) {
        sessions[sessionID] = Session(party: party)
    }

    /// Ends a session; what its subscriptions had in flight goes back to their consumers, and
    /// only once all of them are gone, so none of it is handed to another subscription of this session.
    public mutating func detach(sessionID: UInt64, now: Int64) -> ConsumerOutput {
        guard let session = sessions[sessionID] else { return ConsumerOutput() }
        var output = ConsumerOutput()
        var released: Set<ConsumerName> = []
        for id in session.subscriptions.keys.sorted() {
            if case .consumer(let name) = session.subscriptions[id] { released.insert(name) }
            output.append((try? unsubscribe(sessionID: sessionID, subscriptionID: id, deleteDurable: false, now: now, dispatch: false)) ?? ConsumerOutput())
        }
        sessions[sessionID] = nil
        for name in released.sorted() where consumers[name] != nil {
            output.append(consumers[name]!.tick(now: now, ackIDs: &ackIDs))
        }
        return output
    }

    /// Subscribes. `durable` makes a topic subscription the party's named consumer (created at
    /// `start`, or resumed); a queue is always one shared consumer. `generation` tells a new
    /// durable consumer's events from those of an earlier one of the same name.
    public mutating func subscribe(sessionID: UInt64, subscriptionID: String, destination: Destination, mode: AckMode,
                                   prefetch: Int?, durable: Bool = false, start: UInt64? = nil, generation: UInt64 = 0,
                                   now: Int64) throws(BrokerError) -> ConsumerOutput {
        guard let session = sessions[sessionID] else { throw BrokerError(.notConnected, "session \(sessionID) is not attached") }
        guard session.subscriptions[subscriptionID] == nil else {
            throw BrokerError(.duplicateSubscription, "subscription id '\(subscriptionID)' is already in use on this connection")
        }
        let key = SubscriberKey(sessionID: sessionID, subscriptionID: subscriptionID)
        let name: ConsumerName
        switch (destination.kind, durable, mode) {
        case (.topic, false, .auto):
            sessions[sessionID]!.subscriptions[subscriptionID] = .push(destination)
            topicSubscribers[destination, default: []].append(key)
            return ConsumerOutput()
        case (.queue, _, _):
            name = .queue(destination)
        case (.topic, true, _):
            name = .durable(party: session.party, subscriptionID: subscriptionID)
            if let existing = consumers[name], existing.destination != destination {
                throw BrokerError(.durableConflict, "durable subscription '\(subscriptionID)' of \(session.party) reads \(existing.destination), not \(destination) "
                                  + "(a durable subscription is named by its id alone); use another id for \(destination), "
                                  + "or delete '\(subscriptionID)' first (UNSUBSCRIBE with durable:true)")
            }
            if consumers[name] == nil {
                let kept = owners.values.filter { $0.0 == session.party }.count
                guard kept < rules.maxDurablePerParty else {
                    throw BrokerError(.limitExceeded, "\(session.party) already keeps \(kept) durable subscriptions (limits.max-durable-subscriptions-per-party); "
                                      + "delete one (UNSUBSCRIBE with durable:true) before creating another")
                }
                owners[name] = (session.party, subscriptionID)
            }
        case (.topic, false, _):
            name = .session(sessionID, subscriptionID: subscriptionID)
        }
        if consumers[name] == nil {
            consumers[name] = ConsumerState(name: name, generation: generation, destination: destination,
                                            policy: rules.policy(for: destination), readCursor: start ?? routedNext)
        }
        consumers[name]!.attach(key, party: session.party, mode: mode, limit: prefetch ?? Self.defaultPrefetch)
        sessions[sessionID]!.subscriptions[subscriptionID] = .consumer(name)
        return consumers[name]!.tick(now: now, ackIDs: &ackIDs)
    }

    /// Ends a subscription. With `deleteDurable`, a durable subscription's consumer is deleted too.
    public mutating func unsubscribe(sessionID: UInt64, subscriptionID: String, deleteDurable: Bool, now: Int64,
                                     dispatch: Bool = true) throws(BrokerError) -> ConsumerOutput {
        guard let route = sessions[sessionID]?.subscriptions[subscriptionID] else {
            throw BrokerError(.unknownSubscription, "no subscription with id '\(subscriptionID)' on this connection")
        }
        if deleteDurable, case .consumer(let name) = route, owners[name] != nil, let others = consumers[name].map({ $0.subscriberCount - 1 }), others > 0 {
            throw BrokerError(.durableConflict, "durable subscription '\(subscriptionID)' is in use by \(others) other connection(s); they must unsubscribe before it can be deleted")
        }
        sessions[sessionID]!.subscriptions[subscriptionID] = nil
        let key = SubscriberKey(sessionID: sessionID, subscriptionID: subscriptionID)
        switch route {
        case .push(let destination):
            topicSubscribers[destination]?.removeAll { $0 == key }
            if topicSubscribers[destination]?.isEmpty == true { topicSubscribers[destination] = nil }
            return ConsumerOutput()
        case .consumer(let name):
            guard consumers[name] != nil else { return ConsumerOutput() }
            let output = consumers[name]!.detach(key, now: now, ackIDs: &ackIDs, dispatch: dispatch)
            let ephemeral = !name.isDurable
            let deleted = deleteDurable && owners[name] != nil
            if ephemeral || deleted {
                consumers[name] = nil
                owners[name] = nil
            }
            return output
        }
    }

    /// Routes a stored message: pushed to live topic subscribers; a queue seen for the first
    /// time gets its consumer (which reads the message from the log).
    public mutating func route(_ message: StoredMessage) -> [Delivery] {
        routedNext = max(routedNext, message.offset + 1)
        let destination = message.destination
        switch destination.kind {
        case .topic:
            guard let subscribers = topicSubscribers[destination], !subscribers.isEmpty else { return [] }
            let shared = message.sharedHeaders
            return subscribers.map {
                Delivery(sessionID: $0.sessionID, subscriptionID: $0.subscriptionID, message: message, ackID: nil, deliveryCount: 1,
                         shared: shared)
            }
        case .queue:
            let name = ConsumerName.queue(destination)
            if consumers[name] == nil {
                consumers[name] = ConsumerState(name: name, generation: 0, destination: destination,
                                                policy: rules.policy(for: destination), readCursor: message.offset)
            }
            return []
        }
    }

    /// Notes that offsets below `next` hold nothing left to route (records that are not messages).
    public mutating func advanceRouted(to next: UInt64) {
        routedNext = max(routedNext, next)
    }

    /// ACK. Unknown, foreign, settled and superseded ack ids are refused with the reason.
    public mutating func acknowledge(sessionID: UInt64, ackID text: String, now: Int64) throws(BrokerError) -> ConsumerOutput {
        let (name, key, ackID) = try owner(of: text, sessionID: sessionID)
        return try consumers[name]!.acknowledge(ackID: ackID, from: key, now: now, ackIDs: &ackIDs)
    }

    /// NACK, with or without requeue.
    public mutating func reject(sessionID: UInt64, ackID text: String, requeue: Bool, now: Int64) throws(BrokerError) -> ConsumerOutput {
        let (name, key, ackID) = try owner(of: text, sessionID: sessionID)
        return try consumers[name]!.reject(ackID: ackID, from: key, requeue: requeue, now: now, ackIDs: &ackIDs)
    }

    /// Expires overdue deliveries everywhere and hands waiting messages to subscribers with room.
    public mutating func tick(now: Int64) -> ConsumerOutput {
        var output = ConsumerOutput()
        for name in consumers.keys.sorted() {
            let due = consumers[name]!.nextDeadline.map { $0 <= now } ?? false
            guard due || consumers[name]!.waitingCount > 0 else { continue }
            output.append(consumers[name]!.tick(now: now, ackIDs: &ackIDs))
        }
        return output
    }

    /// What the consumers need read from the log, given its next offset.
    /// Whether any consumer could take messages it has not read yet.
    public func hasDemand(head: UInt64) -> Bool {
        consumers.values.contains { $0.hasDemand(head: min(head, routedNext)) }
    }

    /// How many log records the furthest-behind consumer that could take messages now (room in
    /// a subscriber's window and something to read, `ready`: a connection not backed up) has yet
    /// to look at, up to the
    /// last message routed: records after it (delivery records, written as consumers take and
    /// acknowledge) are nothing to deliver, and counting them would hold publishers back for ever.
    public func fanOutLag(head: UInt64, ready: (ConsumerName) -> Bool) -> UInt64 {
        let routed = min(head, routedNext)
        var lag: UInt64 = 0
        // Only consumers the pump would read for now: one whose redeliveries wait their turn has nothing to read.
        for (name, consumer) in consumers where consumer.readCursor < routed && consumer.hasDemand(head: routed) && ready(name) {
            lag = max(lag, routed - consumer.readCursor)
        }
        return lag
    }

    public func demands(head: UInt64) -> [(ConsumerName, Destination, ConsumerDemand)] {
        consumers.keys.sorted().compactMap { name in
            let consumer = consumers[name]!
            return consumer.demand(head: min(head, routedNext)).map { (name, consumer.destination, $0) }
        }
    }

    /// Messages read from the log for a consumer (see `ConsumerState.offer`).
    public mutating func offer(to name: ConsumerName, _ messages: [StoredMessage], scannedTo: UInt64?, missing: [UInt64] = [],
                               now: Int64) -> ConsumerOutput {
        guard consumers[name] != nil else { return ConsumerOutput() }
        return consumers[name]!.offer(messages, scannedTo: scannedTo.map { min($0, routedNext) }, missing: missing, now: now, ackIDs: &ackIDs)
    }

    /// Puts back a consumer rebuilt from the log after a restart.
    public mutating func restore(_ consumer: ConsumerState, owner: (party: PartyIdentity, subscriptionID: String)?) {
        consumers[consumer.name] = consumer
        if let owner { owners[consumer.name] = owner }
    }

    /// The earliest ack-wait deadline of any consumer.
    public mutating func nextDeadline() -> Int64? {
        var earliest: Int64?
        for name in consumers.keys {
            if let deadline = consumers[name]!.nextDeadline { earliest = min(earliest ?? deadline, deadline) }
        }
        return earliest
    }

    /// Unacknowledged deliveries, optionally of one destination or to one party.
    public func pending(destination: Destination? = nil, party: PartyIdentity? = nil) -> [PendingDelivery] {
        consumers.keys.sorted().flatMap { name -> [PendingDelivery] in
            let consumer = consumers[name]!
            guard destination == nil || consumer.destination == destination else { return [] }
            return consumer.pending.filter { party == nil || $0.party == party }
        }
    }

    /// Whether a session has a subscription with this id.
    public func hasSubscription(sessionID: UInt64, subscriptionID: String) -> Bool {
        sessions[sessionID]?.subscriptions[subscriptionID] != nil
    }

    /// The ids of a session's live subscriptions to `destination` (where query answers go).
    public func subscriptionIDs(sessionID: UInt64, to destination: Destination) -> [String] {
        (sessions[sessionID]?.subscriptions ?? [:]).compactMap { id, route in
            if case .push(let subscribed) = route, subscribed == destination { return id }
            return nil
        }.sorted()
    }

    /// Unacknowledged deliveries of one subscription.
    public func pendingCount(sessionID: UInt64, subscriptionID: String) -> Int {
        guard case .consumer(let name)? = sessions[sessionID]?.subscriptions[subscriptionID] else { return 0 }
        let key = SubscriberKey(sessionID: sessionID, subscriptionID: subscriptionID)
        return consumers[name]?.attachments[key]?.inFlight.count ?? 0
    }

    /// The ack id of this session's unsettled delivery of the message at `offset` (on subscription
    /// `subscriptionID` when given; else the oldest such delivery on any of its subscriptions):
    /// what an ACK of STOMP 1.0 or 1.1, which names the message, settles. Nil when there is none.
    public func ackID(sessionID: UInt64, subscriptionID: String?, offset: UInt64) -> UInt64? {
        guard let session = sessions[sessionID] else { return nil }
        var found: UInt64?
        for (id, route) in session.subscriptions where subscriptionID == nil || id == subscriptionID {
            guard case .consumer(let name) = route, let consumer = consumers[name] else { continue }
            let key = SubscriberKey(sessionID: sessionID, subscriptionID: id)
            for ackID in consumer.attachments[key]?.inFlight ?? [] where consumer.inFlight[ackID]?.offset == offset {
                found = min(found ?? ackID, ackID)
            }
        }
        return found
    }

    private func owner(of text: String, sessionID: UInt64) throws(BrokerError) -> (ConsumerName, SubscriberKey, UInt64) {
        guard let ackID = UInt64(text), let session = sessions[sessionID] else {
            throw BrokerError(.unknownAck, "ack id '\(text)' does not name an unsettled delivery of this connection")
        }
        for (subscriptionID, route) in session.subscriptions {
            guard case .consumer(let name) = route else { continue }
            let key = SubscriberKey(sessionID: sessionID, subscriptionID: subscriptionID)
            if consumers[name]?.knows(ackID: ackID, from: key) == true { return (name, key, ackID) }
        }
        throw BrokerError(.unknownAck, "ack id '\(text)' does not name an unsettled delivery of this connection")
    }
}
