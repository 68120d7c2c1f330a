import MusterLocks
import Synchronization
public import MusterProtocol

/// A connection the broker can hand deliveries to. `deliver` is called while the broker
/// holds its lock (that keeps log order per destination), so it must only queue the bytes.
public protocol DeliveryTarget: AnyObject, Sendable {
    func deliver(_ delivery: Delivery)
    /// Whether the connection can take more now (its outbound buffer is not backed up).
    var hasRoom: Bool { get }
}

/// The thread-safe broker: every SEND passes through `publish` — policy gate, then the
/// store, then routing in store order — and every subscription change, ACK and NACK through
/// the core, whose delivery events go to the store as evidence. Tracked consumers read from
/// the store in `pumpStep`, which the `ConsumerPump` thread runs.
public final class Broker: Sendable {
    private struct State: ~Copyable {
        var core: BrokerCore
        var targets: [UInt64: any DeliveryTarget] = [:]
    }

    public let store: any MessageStore
    public let gate: any PublishGate
    public let clock: @Sendable () -> Int64
    /// Decides summons, hand-off and joint-operation messages (nil: no workflows).
    public let workflow: (any WorkflowHandling)?
    /// Lock order: below the log's commit lock, above sessions' flow (MusterServer/LockOrder.swift).
    private let state: AdaptiveMutex<State>
    private let nextSessionID = Atomic<UInt64>(1)
    /// The callbacks live in structs: a bare closure in a Mutex is re-wrapped in a reabstraction
    /// thunk each time `withLock` writes it back, until calling it overflows the stack.
    private struct Callbacks: Sendable {
        var wake: (@Sendable () -> Void)?
        var readFailure: (@Sendable (ConsumerName, BrokerError) -> Void)?
        var flowChange: (@Sendable (PublisherFlowControl.Change, _ lag: UInt64) -> Void)?
    }

    private let callbacks = Mutex(Callbacks())
    /// Dead letters whose `dead-lettered` event is not recorded yet (their copy is being stored,
    /// or failed to be): the consumer let go of them, but on the record they are unsettled, and
    /// the consumer registry must say so (a leaf lock).
    private let deadLettersUnrecorded = Mutex<[DeadLetterKey: UnsettledDelivery]>([:])
    private struct DeadLetterKey: Hashable, Sendable {
        let consumer: ConsumerName
        let offset: UInt64
    }
    /// Publishers waiting for fan-out (a leaf lock: taken after `state` is released).
    private let flow: Mutex<FlowState>
    private struct FlowState: Sendable {
        var control: PublisherFlowControl
        var waiting: [PausedPublisher] = []
    }
    private struct PausedPublisher: Sendable {
        let resume: @Sendable () -> Void
    }
    /// Publish ids already stored (leaf: the waiting completions run after it is released).
    private let publishIDs: Mutex<PublishIDs<PublishWaiter>>

    public init(store: any MessageStore = InMemoryMessageStore(), gate: any PublishGate = OpenGate(),
                rules: DeliveryRules = DeliveryRules(), clock: @escaping @Sendable () -> Int64 = { WallClock.milliseconds() },
                restored: [RestoredConsumer] = [], workflow: (any WorkflowHandling)? = nil,
                publishIDs: PublishIDSettings = PublishIDSettings(), restoredPublishIDs: [RestoredPublishID] = [],
                flowControl: PublisherFlowControl? = nil) {
        self.store = store
        self.flow = Mutex(FlowState(control: flowControl ?? PublisherFlowControl(limit: rules.maxFanOutLag)))
        self.gate = gate
        self.clock = clock
        self.workflow = workflow
        // Ack ids start at the clock's microseconds, so an id from an earlier run names nothing now.
        var core = BrokerCore(rules: rules, routedNext: store.nextOffset, firstAckID: UInt64(max(0, clock())) * 1000)
        for consumer in restored { core.restore(consumer.state, owner: consumer.owner) }
        self.state = AdaptiveMutex(State(core: core))
        var ids = PublishIDs<PublishWaiter>(window: publishIDs.window, capacity: publishIDs.capacity)
        for restored in restoredPublishIDs { ids.restore(restored.key, restored.original, storedAt: restored.storedAt) }
        self.publishIDs = Mutex(ids)
    }

    /// Who to poke when consumers may have work (the pump).
    public func onWork(_ handler: @escaping @Sendable () -> Void) {
        callbacks.withLock { $0.wake = handler }
    }

    /// Whether any queue, durable or client-acknowledged subscription has a subscriber attached
    /// (the pump's work; a queue nobody reads just keeps its place in the log).
    public var hasTrackedConsumers: Bool {
        state.withLock { $0.core.consumers.values.contains { $0.subscriberCount > 0 } }
    }

    /// Tells the pump that consumers may be able to take more (an ACK, a drained connection),
    /// if some consumer could take a message it has not read yet.
    public func wakeConsumers() {
        let head = store.nextOffset
        guard state.withLock({ $0.core.hasDemand(head: head) }) else { return }
        callbacks.withLock { $0.wake }?()
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

    /// Forgets a session; what it had in flight goes to other subscribers or waits.
    public func detach(sessionID: UInt64) {
        let now = clock()
        let deadLetters = state.withLock { state in
            let output = state.core.detach(sessionID: sessionID, now: now)
            state.targets[sessionID] = nil
            return perform(output, with: state.targets)
        }
        moveDeadLetters(deadLetters)
        wakeConsumers()
    }

    /// Accepts a publication: checks policy, stores it, then routes it in store order.
    /// `completion` reports the stored message (for the receipt) or the refusal.
    /// With `deferCommit`, the store may hold the message until `store.commitPending()` (an
    /// event loop calls it once per iteration, so that the SENDs it read are written together).
    /// A publication with a publish id its sender already stored is not stored again: its
    /// completion reports the original (see `repeatReport`).
    public func publish(_ publication: Publication, deferCommit: Bool = false,
                        completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        guard let id = publication.headers[PublishHeader.id] else {
            return publishOnce(publication, deferCommit: deferCommit, completion: completion)
        }
        let key = PublishIDs<PublishWaiter>.Key(party: publication.sender, id: id)
        let now = clock()
        let claim = publishIDs.withLock { $0.claim(key, waiter: PublishWaiter(publication: publication, completion: completion), now: now) }
        switch claim {
        case .repeated(let original):
            completion(Self.repeatReport(of: original, publication))
        case .waiting:
            return  // told when the original is settled
        case .fresh:
            publishOnce(publication, deferCommit: deferCommit) { [self] result in
                let now = clock()
                switch result {
                case .success(let stored):
                    let original = PublishIDs<PublishWaiter>.Original(stored: stored)
                    let waiters = publishIDs.withLock { $0.settle(key, as: original, now: now) }
                    completion(result)
                    for waiter in waiters { waiter.completion(Self.repeatReport(of: original, waiter.publication)) }
                case .failure:
                    // Nothing was stored: the id is free, and each repeat that waited is decided on its own.
                    let waiters = publishIDs.withLock { $0.settle(key, as: nil, now: now) }
                    completion(result)
                    for waiter in waiters { publish(waiter.publication, completion: waiter.completion) }
                }
            }
        }
    }

    private func publishOnce(_ publication: Publication, deferCommit: Bool,
                             completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        switch gate.admit(publication) {
        case .success(let admitted):
            if let workflow, workflow.claims(admitted) {
                workflow.submit(admitted, store: { [self] publication, stored in store(publication, completion: stored) }, completion: completion)
            } else {
                store(admitted, deferCommit: deferCommit, completion: completion)
            }
        case .failure(let refusal):
            completion(.failure(refusal.reported))
        }
    }

    /// A transaction's publications, all or none: each is admitted by the policy before any is
    /// stored, and a refusal of one stores none (it is returned). Workflow messages are decided
    /// one by one against the workflows' state, so a transaction cannot carry them. Otherwise
    /// each is stored as `publish` would, and `completion` reports each by its index, in order.
    public func publishTogether(_ publications: [Publication], deferCommit: Bool,
                                completion: @escaping @Sendable (Int, Result<StoredMessage, BrokerError>) -> Void) -> BrokerError? {
        var admitted: [Publication] = []
        for publication in publications {
            if publication.headers[PublishHeader.id] != nil {
                return BrokerError(.invalidHeader, "\(PublishHeader.id) cannot be used inside a transaction (a transaction commits once, "
                                   + "so a repeat would be a new transaction): send the message outside the transaction, or without the id")
            }
            switch gate.admit(publication) {
            case .success(let allowed):
                if let workflow, workflow.claims(allowed) {
                    return BrokerError(.invalidTransition, "a \(allowed.headers[ReservedHeader.type] ?? "workflow") message cannot be part of a transaction: "
                                       + "each is decided on its own; send it outside the transaction")
                }
                admitted.append(allowed)
            case .failure(let refusal):
                return BrokerError(refusal.code, "the transaction was not committed, nothing in it was stored: \(refusal.reported.message)")
            }
        }
        for (index, publication) in admitted.enumerated() {
            store(publication, deferCommit: deferCommit) { completion(index, $0) }
        }
        return nil
    }

    /// Stores and routes a message the broker writes itself (audit records): no policy check.
    public func publishAsBroker(_ publication: Publication, completion: (@Sendable (Result<StoredMessage, BrokerError>) -> Void)? = nil) {
        store(publication) { [workflow] result in
            // Refusal records count in the assessment (admission lists), live as on replay.
            if case .success(let message) = result, message.destination == RefusalRecord.destination { workflow?.note(message) }
            completion?(result)
        }
    }

    func store(_ publication: Publication, deferCommit: Bool = false,
                       completion: (@Sendable (Result<StoredMessage, BrokerError>) -> Void)?) {
        store.append(publication, deferCommit: deferCommit) { [self] result in
            if case .success(let message) = result {
                state.withLock { state in
                    for delivery in state.core.route(message) { state.targets[delivery.sessionID]?.deliver(delivery) }
                }
            }
            completion?(result)
        }
    }

    /// Writes the reminders and escalations that are due; returns when the next one is.
    public func runWorkflowTimers() -> Int64? {
        workflow?.runTimers { [self] publication, stored in store(publication, completion: stored) }
    }

    /// Subscribes; see `BrokerCore.subscribe`. A new durable subscription starts at `start`
    /// (nil: with the next message).
    public func subscribe(sessionID: UInt64, party: PartyIdentity, subscriptionID: String, destination: Destination,
                          mode: AckMode, prefetch: Int?, durable: Bool = false, start: UInt64? = nil) throws(BrokerError) {
        if let refusal = gate.checkSubscribe(destination, by: party) { throw refusal.reported }
        let now = clock()
        try mutate { core throws(BrokerError) in
            try core.subscribe(sessionID: sessionID, subscriptionID: subscriptionID, destination: destination, mode: mode,
                               prefetch: prefetch, durable: durable, start: start, generation: UInt64.random(in: 1...UInt64.max), now: now)
        }
    }

    public func unsubscribe(sessionID: UInt64, subscriptionID: String, deleteDurable: Bool = false) throws(BrokerError) {
        let now = clock()
        try mutate { core throws(BrokerError) in
            try core.unsubscribe(sessionID: sessionID, subscriptionID: subscriptionID, deleteDurable: deleteDurable, now: now)
        }
    }

    /// ACK. `recorded` (if any) runs once the acknowledgement is in the store (for a RECEIPT).
    public func acknowledge(sessionID: UInt64, ackID: String, recorded: (@Sendable (BrokerError?) -> Void)? = nil) throws(BrokerError) {
        let now = clock()
        try mutate(recorded: recorded) { core throws(BrokerError) in try core.acknowledge(sessionID: sessionID, ackID: ackID, now: now) }
    }

    /// ACKs a connection sent in a row, without receipts, settled under one lock with one record
    /// call and one consumer wake. Stops at the first that fails and returns its error (the
    /// connection is refused for it, as for a lone ACK, and those after it are not applied).
    public func acknowledge(sessionID: UInt64, ackIDs: [String]) -> BrokerError? {
        let now = clock()
        var failure: BrokerError?
        do throws(BrokerError) {
            try mutate { core in
                var output = ConsumerOutput()
                for ackID in ackIDs {
                    do throws(BrokerError) {
                        output.append(try core.acknowledge(sessionID: sessionID, ackID: ackID, now: now))
                    } catch {
                        failure = error
                        break
                    }
                }
                return output
            }
        } catch {
            failure = error
        }
        return failure
    }

    public func reject(sessionID: UInt64, ackID: String, requeue: Bool, recorded: (@Sendable (BrokerError?) -> Void)? = nil) throws(BrokerError) {
        let now = clock()
        try mutate(recorded: recorded) { core throws(BrokerError) in try core.reject(sessionID: sessionID, ackID: ackID, requeue: requeue, now: now) }
    }

    // MARK: Consumers

    /// One round of consumer work: expire overdue deliveries, then read from the store what
    /// consumers with room need, and deliver it. Returns whether anything was read, and when
    /// the next ack-wait runs out.
    @discardableResult
    public func pumpStep() -> (progressed: Bool, nextDeadline: Int64?) {
        moveDeadLetters(state.withLock { state in perform(state.core.tick(now: clock()), with: state.targets) })
        let head = store.nextOffset
        let (demands, lag) = state.withLock { state in
            // A consumer whose every connection is backed up waits for a drain (and does not hold publishers back).
            let (core, targets) = (state.core, state.targets)
            func ready(_ name: ConsumerName) -> Bool {
                core.consumers[name]?.attachments.keys.contains { targets[$0.sessionID]?.hasRoom ?? false } ?? false
            }
            return (core.demands(head: head).filter { name, _, _ in ready(name) }, core.fanOutLag(head: head, ready: ready))
        }
        regulatePublishers(lag: lag)
        var progressed = false
        for (name, destination, demand) in demands {
            do throws(BrokerError) {
                switch demand {
                case .fetch(let offsets):
                    let messages = try store.read(destination, offsets: offsets)
                    let found = Set(messages.map(\.offset))
                    let missing = offsets.filter { !found.contains($0) && $0 < store.nextOffset }
                    let now = clock()
                    moveDeadLetters(state.withLock { state in
                        perform(state.core.offer(to: name, messages, scannedTo: nil, missing: missing, now: now), with: state.targets)
                    })
                    progressed = progressed || !messages.isEmpty || !missing.isEmpty
                case .read(let from, let limit):
                    let (messages, scannedTo) = try store.read(destination, from: from, limit: limit)
                    let now = clock()
                    moveDeadLetters(state.withLock { state in
                        perform(state.core.offer(to: name, messages, scannedTo: scannedTo, now: now), with: state.targets)
                    })
                    progressed = progressed || scannedTo > from
                }
            } catch {
                callbacks.withLock { $0.readFailure }?(name, error)
            }
        }
        return (progressed, state.withLock { $0.core.nextDeadline() })
    }

    /// Whether fan-out is too far behind for this publisher's next SEND (see `PublisherFlowControl`):
    /// if so, `resume` is kept and called once fan-out has caught up, and the caller stops reading
    /// the publisher's socket until then.
    public func pausePublisher(ifBehind resume: @escaping @Sendable () -> Void) -> Bool {
        flow.withLock { flow in
            guard flow.control.paused else { return false }
            flow.waiting.append(PausedPublisher(resume: resume))
            return true
        }
    }

    /// Whether publishers are waiting for fan-out now.
    public var publishersPaused: Bool { flow.withLock { $0.control.paused } }

    private func regulatePublishers(lag: UInt64) {
        let (change, resumed) = flow.withLock { flow -> (PublisherFlowControl.Change?, [PausedPublisher]) in
            let change = flow.control.observe(lag: lag)
            guard change == .resume else { return (change, []) }
            defer { flow.waiting = [] }
            return (change, flow.waiting)
        }
        for publisher in resumed { publisher.resume() }
        if let change { callbacks.withLock { $0.flowChange }?(change, lag) }
    }

    /// Who to tell when publishers start or stop waiting for fan-out (the server logs it).
    public func onPublisherFlowChange(_ handler: @escaping @Sendable (PublisherFlowControl.Change, _ lag: UInt64) -> Void) {
        callbacks.withLock { $0.flowChange = handler }
    }

    /// Who to tell when a consumer cannot read the store (the server logs it).
    public func onReadFailure(_ handler: @escaping @Sendable (ConsumerName, BrokerError) -> Void) {
        callbacks.withLock { $0.readFailure = handler }
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

    private func mutate(recorded: (@Sendable (BrokerError?) -> Void)? = nil,
                        _ body: (inout BrokerCore) throws(BrokerError) -> ConsumerOutput) throws(BrokerError) {
        let head = store.nextOffset
        // Whether consumers can take more is asked under the same lock (`wakeConsumers` would
        // take it again, for every ACK).
        let (deadLetters, demand) = try state.withLock { (state: inout State) throws(BrokerError) -> ([DeadLetter], Bool) in
            let output = try body(&state.core)
            let deadLetters = perform(output, with: state.targets, recorded: output.deadLetters.isEmpty ? recorded : nil)
            return (deadLetters, state.core.hasDemand(head: head))
        }
        moveDeadLetters(deadLetters, recorded: deadLetters.isEmpty ? nil : recorded)
        if demand { callbacks.withLock { $0.wake }?() }
    }

    /// Sends the deliveries and records the events, under the lock, so the store sees events in
    /// the order they happened. Dead letters are returned: the caller moves them once the lock
    /// is released (storing one routes it, which takes the lock).
    private func perform(_ output: ConsumerOutput, with targets: [UInt64: any DeliveryTarget],
                         recorded: (@Sendable (BrokerError?) -> Void)? = nil) -> [DeadLetter] {
        for delivery in output.deliveries { targets[delivery.sessionID]?.deliver(delivery) }
        let events = output.deadLetters.isEmpty ? output.events : output.events.filter { $0.kind != .deadLettered }
        if !events.isEmpty {
            workflow?.observe(events)
            store.record(events, completion: recorded)
        } else {
            recorded?(nil)
        }
        // Unsettled on the record until their event is: noted under the broker's lock, so that no
        // registry checkpoint sees the consumer without them and the list without them too.
        if !output.deadLetters.isEmpty {
            deadLettersUnrecorded.withLock { pending in
                for deadLetter in output.deadLetters {
                    pending[DeadLetterKey(consumer: deadLetter.event.consumer, offset: deadLetter.message.offset)] = UnsettledDelivery(
                        offset: deadLetter.message.offset, deliveryCount: deadLetter.deliveryCount, party: deadLetter.event.party,
                        subscriptionID: deadLetter.event.subscriptionID, since: deadLetter.event.at)
                }
            }
        }
        return output.deadLetters
    }

    /// Stores each dead letter on its destination, then records that it was dead-lettered: the
    /// record never claims a move that did not happen. `recorded` runs after the last one.
    private func moveDeadLetters(_ deadLetters: [DeadLetter], recorded: (@Sendable (BrokerError?) -> Void)? = nil) {
        for (index, deadLetter) in deadLetters.enumerated() {
            let last = index == deadLetters.count - 1
            let key = DeadLetterKey(consumer: deadLetter.event.consumer, offset: deadLetter.message.offset)
            store(deadLetter.publication) { [self] result in
                switch result {
                case .success:
                    store.record([deadLetter.event]) { error in
                        if error == nil { self.deadLettersUnrecorded.withLock { _ = $0.removeValue(forKey: key) } }
                        if last { recorded?(error) }
                    }
                case .failure(let error):
                    // Not settled on the record: after a restart the message is delivered again.
                    if last { recorded?(error) }
                }
            }
        }
    }

    /// Dead letters not yet settled on the record, by consumer (for the consumer registry; call it
    /// inside `inspect`, whose lock their noting holds too).
    public var unrecordedDeadLetters: [ConsumerName: [UnsettledDelivery]] {
        deadLettersUnrecorded.withLock { pending in
            Dictionary(grouping: pending, by: \.key.consumer).mapValues { $0.map(\.value) }
        }
    }
}

/// A consumer rebuilt from the log at start, with the owner of a durable subscription.
public struct RestoredConsumer: Sendable {
    public let state: ConsumerState
    public let owner: (party: PartyIdentity, subscriptionID: String)?

    public init(state: ConsumerState, owner: (party: PartyIdentity, subscriptionID: String)?) {
        self.state = state
        self.owner = owner
    }
}

extension DeadLetter {
    /// The message as published to the dead-letter destination: the original headers, sender and
    /// body, plus where it came from and why.
    public var publication: Publication {
        var headers = message.publication.headers
        headers.append(ReservedHeader.deadLetterFrom, message.destination.description)
        headers.append(ReservedHeader.deadLetterOffset, String(message.offset))
        headers.append(ReservedHeader.deadLetterDeliveries, String(deliveryCount))
        headers.append(ReservedHeader.deadLetterReason, reason)
        return Publication(destination: target, headers: headers, body: message.publication.body, sender: message.publication.sender)
    }
}
