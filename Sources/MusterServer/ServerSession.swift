import Dispatch
import Logging
import MusterBroker
import MusterLog
import MusterNet
import MusterStomp
import MusterWorkflow
import Synchronization
import MusterProtocol

/// Glue between one TLS connection and the broker: bytes → frames → `SessionMachine` →
/// broker calls, and deliveries → MESSAGE frames. Runs on the connection's loop thread,
/// except `deliver` and publish completions, which only queue bytes or hop to the loop.
final class ServerSession: TLSChannelDelegate, DeliveryTarget, @unchecked Sendable {
    let broker: Broker
    /// Admits the connection's certificate and records refusals (nil: any identity is admitted).
    let policy: PolicyGate?
    /// The verified certificate's facts, kept to re-admit the connection on reload.
    private(set) var credentials: ConnectionCredentials?
    /// The durable log replay subscriptions read from (nil: replay is refused).
    let log: MessageLog?
    /// Answers workflow queries (nil: this broker runs no workflows).
    let workflows: WorkflowDesk?
    /// Saves the consumer registry when a durable subscription is created or deleted.
    let consumers: ConsumerPump?
    let settings: SessionSettings
    let heartbeatTolerance: Double
    let connectTimeout: Duration
    var logger: Logger
    let onClose: @Sendable (ServerSession) -> Void
    /// Set once, before the channel starts, and never cleared (so any thread may write).
    private(set) var channel: TLSChannel!
    private var decoder: StompFrameDecoder
    private var machine: SessionMachine?
    private var sessionID: UInt64?
    private var heartbeat: HeartbeatMonitor?
    private var replays: [String: ReplayStream] = [:]
    private var nextReplaySerial: UInt64 = 1
    /// Readers serving live topic subscriptions that fell behind, from the log (loop thread).
    private var followers: [String: ReplayStream] = [:]
    /// Lock order: below the broker's state, above the channel's staging (LockOrder.swift).
    private let flow = Mutex(LiveFlow())
    private var lastRead = ContinuousClock.now
    private var openedAt = ContinuousClock.now
    /// Updated from any thread (deliveries), read on the loop for heart-beats.
    private let lastWriteNanoseconds = Atomic<Int64>(0)
    private static let epoch = ContinuousClock.now

    init(broker: Broker, policy: PolicyGate? = nil, log: MessageLog?, workflows: WorkflowDesk? = nil, consumers: ConsumerPump? = nil, limits: StompLimits, settings: SessionSettings, heartbeatTolerance: Double,
         connectTimeout: Duration = .seconds(30), logger: Logger, onClose: @escaping @Sendable (ServerSession) -> Void) {
        self.broker = broker
        self.policy = policy
        self.log = log
        self.workflows = workflows
        self.consumers = consumers
        self.settings = settings
        self.heartbeatTolerance = heartbeatTolerance
        self.connectTimeout = connectTimeout
        self.logger = logger
        self.onClose = onClose
        self.decoder = StompFrameDecoder(limits: limits)
    }

    func attach(_ channel: TLSChannel) {
        self.channel = channel
        logger[metadataKey: "peer"] = "\(channel.remoteAddress)"
    }

    // MARK: TLSChannelDelegate

    func channelDidOpen(_ channel: TLSChannel) {
        openedAt = .now
        lastRead = .now
        let certificate = channel.peerCertificate ?? PeerCertificate(subject: "", uriNames: [])
        switch PartyIdentity.from(uriNames: certificate.uriNames, subject: certificate.subject) {
        case .success(let party):
            logger[metadataKey: "party"] = "\(party)"
            let credentials = ConnectionCredentials(identity: party, subject: certificate.subject, serialNumber: certificate.serialNumber,
                                                    issuerFingerprint: certificate.issuerFingerprint, anchorFingerprint: certificate.anchorFingerprint)
            if let policy, case .failure(let refusal) = policy.admitConnection(credentials) {
                logger.warning("refused: \(refusal.error.message)")
                send(.error(refusal.reported))
                channel.close()
                return
            }
            self.credentials = credentials
            machine = SessionMachine(party: party, sessionName: "session-\(UInt64.random(in: 1..<UInt64.max))", settings: settings)
            logger.debug("TLS connection open")
        case .failure(let reason):
            logger.warning("refused: \(reason)")
            policy?.record(PolicyRefusal(BrokerError(.identityRefused, reason.description), rule: "certificate identity", party: nil))
            send(.error(BrokerError(.identityRefused, reason.description)))
            channel.close()
        }
    }

    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        lastRead = .now
        guard machine != nil else { return }
        decoder.append(bytes)
        while machine?.isClosed == false {
            let frame: StompFrame?
            do {
                frame = try decoder.next()
            } catch {
                let code: ErrorCode
                switch error {
                case .frameTooLarge, .bodyTooLarge, .headerTooLarge, .tooManyHeaders: code = .frameTooLarge
                default: code = .malformedFrame
                }
                logger.notice("closing: \(error)")
                perform(machine!.fail(BrokerError(code, error.description)))
                return
            }
            guard let frame else { return }
            perform(machine!.handle(frame))
        }
    }

    func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        for stream in replays.values { stream.stop() }
        replays = [:]
        for follower in followers.values { follower.stop() }
        followers = [:]
        if let sessionID { broker.detach(sessionID: sessionID) }
        sessionID = nil
        if let error {
            if error is TLSHandshakeError { logger.warning("\(error)") } else { logger.info("connection closed: \(error)") }
        } else {
            logger.debug("connection closed")
        }
        onClose(self)
    }

    /// Re-admits the connection under a new policy (on its loop): a party that was removed or
    /// whose certificate was revoked is told why and disconnected.
    func readmit() {
        guard let credentials, let policy, let machine, !machine.isClosed else { return }
        if case .failure(let refusal) = policy.admitConnection(credentials) {
            logger.notice("closing after a policy reload: \(refusal.error.message)")
            perform(self.machine!.fail(BrokerError(refusal.code, "after a policy reload: \(refusal.reported.message)")))
        }
    }

    func channelDidDrain(_ channel: TLSChannel) {
        broker.wakeConsumers()
        // Resume on the next loop iteration, so that one fast reader cannot starve the loop.
        for stream in replays.values where stream.waitingForDrain { stream.wake() }
        for follower in followers.values where follower.waitingForDrain { follower.wake() }
    }

    func channelTick(_ channel: TLSChannel, now: ContinuousClock.Instant) {
        guard let machine, !machine.isClosed else { return }
        for stream in replays.values { stream.tick() }
        guard let heartbeat else {
            if now - openedAt > connectTimeout {
                perform(self.machine!.fail(BrokerError(.notConnected, "no CONNECT frame within \(connectTimeout) of the handshake")))
            }
            return
        }
        let sinceRead = Int((now - lastRead) / .milliseconds(1))
        let sinceWrite = Int((now - Self.epoch) / .milliseconds(1)) - Int(lastWriteNanoseconds.load(ordering: .relaxed) / 1_000_000)
        switch heartbeat.decide(sinceRead: sinceRead, sinceWrite: sinceWrite) {
        case .idle: break
        case .sendHeartbeat: write(StompFrameEncoder.heartbeat)
        case .peerSilent:
            logger.notice("closing: no heart-beat for \(sinceRead) ms")
            perform(self.machine!.fail(BrokerError(.heartbeatTimeout, "nothing received for \(sinceRead) ms; the agreed interval is \(heartbeat.agreement.expectEvery) ms")))
        }
    }

    // MARK: DeliveryTarget

    /// Unsent bytes beyond which tracked consumers stop handing this connection more.
    static let consumerHighWater = 256 << 10

    var hasRoom: Bool { channel.approximateBacklog < Self.consumerHighWater }

    /// Runs under the broker's lock, on whichever thread routed the message.
    func deliver(_ delivery: Delivery) {
        guard log != nil, !delivery.tracked, delivery.message.destination.kind == .topic else {
            writeFrame(of: delivery)
            return
        }
        let decision = flow.withLock { flow in
            flow.decide(subscriptionID: delivery.subscriptionID, offset: delivery.message.offset, backlog: channel.approximateBacklog)
        }
        switch decision {
        case .write:
            writeFrame(of: delivery)
        case .drop:
            break
        case .follow(let offset):
            let destination = delivery.message.destination
            channel.loop.execute { [self] in startFollower(subscriptionID: delivery.subscriptionID, destination: destination, from: offset) }
        }
    }

    // MARK: Lagging live subscribers

    /// A live topic subscriber whose connection holds more than `LiveFlow.highWater` unsent
    /// bytes stops receiving pushed messages; a reader serves it from the log at the pace it
    /// reads, and hands it back to live delivery once it has caught up.
    private func startFollower(subscriptionID id: String, destination: Destination, from offset: UInt64) {
        guard let log, followers[id] == nil, flow.withLock({ $0.lagging[id] != nil }) else { return }
        logger.notice("subscriber is behind; serving it from the log", metadata: ["subscription": "\(id)", "from": "\(offset)"])
        let state = ReplayState(subscriptionID: id, destination: destination, mode: .auto, prefetch: nil, end: nil, serial: 0)
        let follower = ReplayStream(state: state, log: log, startOffset: offset, channel: channel, logger: logger,
                                    caughtUp: { [weak self] next in self?.rejoin(subscriptionID: id, at: next) ?? true })
        followers[id] = follower
        follower.start()
    }

    /// Hands a caught-up subscriber back to live delivery if nothing new is durable; with routing
    /// paused, every message below `next` was read from the log, and every later one is routed after this.
    private func rejoin(subscriptionID id: String, at next: UInt64) -> Bool {
        guard let log else { return true }
        let joined = broker.whileRoutingPaused { () -> Bool in
            guard log.nextOffset == next else { return false }
            flow.withLock { $0.rejoin(subscriptionID: id, at: next) }
            return true
        }
        if joined {
            followers[id] = nil
            logger.info("subscriber caught up; live delivery again", metadata: ["subscription": "\(id)", "at": "\(next)"])
        }
        return joined
    }

    private func forgetFollower(_ id: String) {
        followers.removeValue(forKey: id)?.stop()
        flow.withLock { $0.forget(id) }
    }

    // MARK: Actions

    func perform(_ actions: [SessionAction]) {
        for action in actions { perform(action) }
    }

    private func perform(_ action: SessionAction) {
        guard let machine else { return }
        switch action {
        case .send(let frame):
            send(frame)
        case .refused(let refusal):
            policy?.record(refusal)
        case .connected(let agreement):
            heartbeat = HeartbeatMonitor(agreement: agreement, tolerance: heartbeatTolerance)
            sessionID = broker.attach(party: machine.party, target: self)
            logger.info("connected", metadata: ["heart-beat": "\(agreement.sendEvery),\(agreement.expectEvery)"])
        case .publish(let publication, let receipt):
            publish(publication, receipt: receipt)
        case .subscribe(let id, let destination, let mode, let prefetch, let replay, let durable, let receipt):
            if let replay, !durable {
                startReplay(id: id, destination: destination, mode: mode, prefetch: prefetch, request: replay, receipt: receipt)
                return
            }
            attempt(receipt) { [self] () throws(BrokerError) in
                do throws(BrokerError) {
                    guard replays[id] == nil else {
                        throw BrokerError(.duplicateSubscription, "subscription id '\(id)' is already in use on this connection")
                    }
                    var start: UInt64?
                    if let replay, let log { start = try Self.startOffset(of: replay.start, destination: destination, in: log) }
                    try broker.subscribe(sessionID: sessionID!, party: machine.party, subscriptionID: id, destination: destination,
                                         mode: mode, prefetch: prefetch, durable: durable, start: start)
                    if durable, destination.kind == .topic { consumers?.saveRegistry() }
                } catch {
                    self.machine?.subscriptionRefused()
                    throw error
                }
            }
        case .unsubscribe(let id, let durable, let receipt):
            attempt(receipt) { [self] () throws(BrokerError) in
                if let stream = replays.removeValue(forKey: id) {
                    stream.stop()
                } else {
                    try broker.unsubscribe(sessionID: sessionID!, subscriptionID: id, deleteDurable: durable)
                    if durable { consumers?.saveRegistry() }
                    forgetFollower(id)
                }
            }
        case .acknowledge(let ackID, let receipt):
            settle(ackID, receipt: receipt) { [self] recorded throws(BrokerError) in
                try broker.acknowledge(sessionID: sessionID!, ackID: ackID, recorded: recorded)
            }
        case .reject(let ackID, let requeue, let receipt):
            settle(ackID, receipt: receipt) { [self] recorded throws(BrokerError) in
                try broker.reject(sessionID: sessionID!, ackID: ackID, requeue: requeue, recorded: recorded)
            }
        case .query(let query, let receipt):
            answer(query, receipt: receipt)
        case .commit(_, let actions, let receipt):
            // Stores complete in order, so the last publish's receipt covers the whole transaction.
            let lastPublish = actions.lastIndex { if case .publish = $0 { return true } else { return false } }
            for (index, action) in actions.enumerated() {
                perform(index == lastPublish ? action.withReceipt(receipt) : action)
            }
            if lastPublish == nil, let receipt, self.machine?.isClosed == false { send(.receipt(receipt)) }
        case .close:
            channel.close()
        }
    }

    // MARK: Replay

    private func startReplay(id: String, destination: Destination, mode: AckMode, prefetch: Int?,
                             request: ReplayRequest, receipt: String?) {
        do throws(BrokerError) {
            guard let log else { throw BrokerError(.storageFailure, "this broker keeps no log to replay from") }
            guard replays[id] == nil, !broker.inspect({ $0.hasSubscription(sessionID: sessionID!, subscriptionID: id) }) else {
                throw BrokerError(.duplicateSubscription, "subscription id '\(id)' is already in use on this connection")
            }
            if let refusal = broker.gate.checkSubscribe(destination, by: machine!.party) { throw refusal.reported }
            let start = try Self.startOffset(of: request.start, destination: destination, in: log)
            var state = ReplayState(subscriptionID: id, destination: destination, mode: mode, prefetch: prefetch,
                                    end: Self.resolve(request.end, in: log), serial: nextReplaySerial)
            state.includeAcks = request.includeAcks
            nextReplaySerial += 1
            let stream = ReplayStream(state: state, log: log, startOffset: start, channel: channel, logger: logger)
            replays[id] = stream
            if let receipt { send(.receipt(receipt)) }
            logger.debug("replay", metadata: ["subscription": "\(id)", "destination": "\(destination)", "from": "\(start)"])
            stream.start()
        } catch {
            machine?.subscriptionRefused()
            refuse(error, receipt: receipt)
        }
    }

    private func replayStream(owning ackID: String) throws(BrokerError) -> ReplayStream? {
        guard let serial = ReplayState.serial(of: ackID) else { return nil }
        guard let stream = replays.values.first(where: { $0.state.serial == serial }) else {
            throw BrokerError(.unknownAck, "ack id '\(ackID)' belongs to no replay subscription of this connection")
        }
        return stream
    }

    static func startOffset(of start: ReplayStart, destination: Destination, in log: MessageLog) throws(BrokerError) -> UInt64 {
        switch start {
        case .first: return log.firstOffset
        case .last: return log.lastOffset(for: destination.description) ?? log.nextOffset
        case .next: return log.nextOffset
        case .offset(let offset): return max(offset, log.firstOffset)
        case .timestamp(let milliseconds):
            do throws(LogError) {
                return try log.firstOffset(atOrAfter: milliseconds)
            } catch {
                throw BrokerError(.storageFailure, "the log's time index cannot be read: \(error)")
            }
        }
    }

    /// `head` becomes the newest offset now; on an empty log, a bound every record passes.
    static func resolve(_ end: ReplayEnd?, in log: MessageLog) -> ReplayEnd? {
        guard case .head = end else { return end }
        let next = log.nextOffset
        return next == 0 ? .timestamp(milliseconds: .min) : .offset(next - 1)
    }

    /// ACK or NACK: a replay's delivery is settled in its stream; a consumer's in the broker,
    /// whose RECEIPT waits until the acknowledgement is recorded in the log.
    private func settle(_ ackID: String, receipt: String?,
                        _ body: (_ recorded: (@Sendable (BrokerError?) -> Void)?) throws(BrokerError) -> Void) {
        do throws(BrokerError) {
            if let stream = try replayStream(owning: ackID) {
                // A replay re-reads the log on request; a NACK only settles the delivery.
                try stream.acknowledge(ackID)
                if let receipt { send(.receipt(receipt)) }
                return
            }
            guard let receipt else {
                try body(nil)
                return
            }
            try body { [self] (failure: BrokerError?) in
                if let failure {
                    channel.loop.execute { [self] in refuse(failure, receipt: receipt) }
                } else {
                    send(.receipt(receipt))
                }
            }
        } catch {
            refuse(error, receipt: receipt)
        }
    }

    // MARK: Queries

    /// Answers an acknowledgement query on the connection's own `reply-to` subscription. Only
    /// destinations the party may subscribe to are reported, and the history of the party's
    /// own messages. History reads the log, off the loop.
    private func answer(_ query: AckQuery, receipt: String?) {
        guard let sessionID, let party = machine?.party else { return }
        let subscriptions = broker.inspect { $0.subscriptionIDs(sessionID: sessionID, to: query.replyTo) }
        guard !subscriptions.isEmpty else {
            refuse(BrokerError(.invalidQuery, "reply-to \(query.replyTo) is not a destination this connection subscribed to"), receipt: receipt)
            return
        }
        let serial = nextReplaySerial
        nextReplaySerial += 1
        let reply: @Sendable ([UInt8]) -> Void = { [self] body in
            for id in subscriptions { write(StompFrameEncoder.encode(AckQueryAnswer.frame(body, for: query, subscriptionID: id, serial: serial))) }
            if let receipt { send(.receipt(receipt)) }
        }
        let gate = broker.gate
        switch query.kind {
        case .summonsList, .summonsShow, .handoffList, .handoffShow, .operationList, .assessment:
            guard let desk = workflows else {
                refuse(BrokerError(.invalidQuery, "this broker runs no workflows"), receipt: receipt)
                return
            }
            switch WorkflowQueryAnswer.answer(query, party: party, kind: policy?.policy.parties[party]?.kind, desk: desk) {
            case .success(let body): reply(body)
            case .failure(let error): refuse(error, receipt: receipt)
            }
        case .pending:
            let now = broker.clock()
            let entries = broker.inspect { $0.pending(destination: query.destination, party: query.party) }
                .filter { gate.permitsSubscribe($0.destination, by: party) }
            reply(AckQueryAnswer.pending(entries, now: now))
        case .history:
            let destination = query.destination!, offset = query.offset!
            guard let store = broker.store as? LogMessageStore else {
                refuse(BrokerError(.storageFailure, "this broker keeps no log to read the history from"), receipt: receipt)
                return
            }
            let mayRead = gate.permitsSubscribe(destination, by: party)
            DispatchQueue.global().async { [self] in
                do throws(BrokerError) {
                    // A sender may see who acknowledged its own message (a coordinator, its summons).
                    if !mayRead, try store.read(destination, offsets: [offset]).first?.publication.sender != party,
                       let refusal = gate.checkSubscribe(destination, by: party) {
                        throw refusal.reported
                    }
                    // Delivery records may still be queued to ride on the next write.
                    store.waitUntilDurable()
                    let events = try store.history(of: destination, offset: offset)
                    let pending = broker.inspect { $0.pending(destination: destination) }
                    reply(AckQueryAnswer.history(destination: destination, offset: offset, events: events, pending: pending, now: broker.clock()))
                } catch {
                    channel.loop.execute { [self] in refuse(error, receipt: receipt) }
                }
            }
        }
    }

    private func attempt(_ receipt: String?, _ body: () throws(BrokerError) -> Void) {
        do throws(BrokerError) {
            try body()
            if let receipt { send(.receipt(receipt)) }
        } catch {
            refuse(error, receipt: receipt)
        }
    }

    /// Set while a commit of this iteration's appends is scheduled on the loop (loop thread only).
    private var commitScheduled = false

    /// The log writes what the sessions of this loop appended in one iteration together, on the
    /// loop thread when its writer is idle: a publisher waiting for each receipt then gets it
    /// without two cross-thread wake-ups.
    private func scheduleCommit() {
        guard !commitScheduled else { return }
        commitScheduled = true
        channel.loop.execute { [self] in
            commitScheduled = false
            if let consumers { consumers.commitAndFeed() } else { broker.store.commitPending() }
        }
    }

    private func publish(_ publication: Publication, receipt: String?) {
        defer { scheduleCommit() }
        broker.publish(publication, deferCommit: true) { [self] result in
            switch result {
            case .success(let stored):
                guard let receipt else { return }
                var frame = StompFrame.receipt(receipt)
                // A workflow message's receipt names its summons, hand-off or operation (the id the broker assigned).
                if let id = stored.publication.headers[WorkflowHeader.id] { frame.headers[WorkflowHeader.id] = id }
                send(frame)
            case .failure(let error):
                channel.loop.execute { [self] in refuse(error, receipt: receipt) }
            }
        }
    }

    private func refuse(_ error: BrokerError, receipt: String?) {
        guard var machine else { return }
        logger.notice("refused: \(error)")
        let actions = machine.fail(error, receiptID: receipt)
        self.machine = machine
        perform(actions)
    }

    private func send(_ frame: StompFrame) {
        write(StompFrameEncoder.encode(frame))
    }

    /// A MESSAGE frame, encoded straight into the connection's outbound bytes.
    private func writeFrame(of delivery: Delivery) {
        channel.write { delivery.encodeFrame(into: &$0) }
        noteWrite()
    }

    private func write(_ bytes: [UInt8]) {
        channel.write(bytes)
        noteWrite()
    }

    /// When the broker last sent something (the heart-beat timer sends only in silences).
    private func noteWrite() {
        lastWriteNanoseconds.store(Int64((ContinuousClock.now - Self.epoch) / .nanoseconds(1)), ordering: .relaxed)
    }
}
