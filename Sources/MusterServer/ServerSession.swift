import Dispatch
import Logging
import MusterBroker
import MusterNet
import MusterProtocol
import MusterStomp
import Synchronization

/// Glue between one TLS connection and the broker: bytes → frames → `SessionMachine` →
/// broker calls, and deliveries → MESSAGE frames. Runs on the connection's loop thread,
/// except `deliver` and publish completions, which only queue bytes or hop to the loop.
/// Subscriptions: `ServerSession+Subscriptions.swift`.
final class ServerSession: TLSChannelDelegate, DeliveryTarget, @unchecked Sendable {
    let broker: Broker
    /// Admits the connection's certificate and records refusals (nil: any identity is admitted).
    let policy: PolicyGate?
    /// The verified certificate's facts, kept to re-admit the connection on reload.
    private(set) var credentials: ConnectionCredentials?
    /// What replays and lagging subscribers read (nil: replay is refused).
    let history: (any MessageHistory)?
    let queries: SessionQueries
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
    var machine: SessionMachine?
    /// The negotiated STOMP version, which decides how frames to this client are encoded; set
    /// once on CONNECT, before the broker can route anything to the session.
    private(set) var version = StompVersion.v1_2
    var sessionID: UInt64?
    var heartbeat: HeartbeatMonitor?
    /// Every subscription's state; deliveries decide under the broker's lock on any thread.
    /// Lock order: below the broker's state, above the channel's staging (LockOrder.swift).
    let subscriptions = Mutex(SessionSubscriptions())
    /// Readers from the log: replays, and live subscribers that fell behind (loop thread only).
    var streams: [String: ReplayStream] = [:]
    var lastRead = ContinuousClock.now
    /// Set while the broker does not read this publisher's socket because fan-out is behind
    /// (`Broker.pausePublisher`): its silence then is the broker's doing, not the peer's.
    var waitingForFanOut = false
    var openedAt = ContinuousClock.now
    /// Updated from any thread (deliveries), read on the loop for heart-beats.
    let lastWriteNanoseconds = Atomic<Int64>(0)
    static let epoch = ContinuousClock.now
    /// Connections per party and the broker's budget for unfinished frames; this one's share.
    let connectionLimits: ConnectionLimits
    var unfinished = UnfinishedFrame()
    private var countedParty: PartyIdentity?
    /// Set while a commit of this iteration's appends is scheduled on the loop (loop thread only).
    var commitScheduled = false
    let ordering = PublishOrdering()
    /// ACKs without receipts read in a row, settled together once the run ends: one broker lock,
    /// one record call and one consumer wake for all of them (loop thread only).
    private var acksInARow: [String] = []
    /// Serves peer brokers their export destinations (nil: this broker has no federation).
    let exports: ExportService?

    init(broker: Broker, policy: PolicyGate? = nil, history: (any MessageHistory)?, queries: SessionQueries, consumers: ConsumerPump? = nil,
         limits: StompLimits, connectionLimits: ConnectionLimits, settings: SessionSettings, heartbeatTolerance: Double,
         connectTimeout: Duration = .seconds(30), exports: ExportService? = nil, logger: Logger,
         onClose: @escaping @Sendable (ServerSession) -> Void) {
        self.connectionLimits = connectionLimits
        self.exports = exports
        self.broker = broker
        self.policy = policy
        self.history = history
        self.queries = queries
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
        switch ConnectionAdmission.admit(channel.peerCertificate, from: ConnectionAdmission.host(of: channel.remoteAddress), policy: policy,
                                         federation: exports?.federation) {
        case .success(let credentials):
            logger[metadataKey: "party"] = "\(credentials.identity)"
            if let refusal = connectionLimits.admit(credentials.identity) {
                logger.warning("refused: \(refusal.message)")
                send(.error(refusal))
                return channel.close()
            }
            countedParty = credentials.identity
            self.credentials = credentials
            machine = SessionMachine(party: credentials.identity, sessionName: "session-\(UInt64.random(in: 1..<UInt64.max))", settings: settings)
            logger.debug("TLS connection open")
        case .failure(let refusal):
            logger.warning("refused: \(refusal.message)")
            send(.error(refusal))
            channel.close()
        }
    }

    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        lastRead = .now
        guard machine != nil else { return }
        decoder.append(bytes)
        decodeFrames()
        do throws(BrokerError) {
            try unfinished.update(buffered: decoder.bufferedByteCount, now: lastRead, limits: connectionLimits)
        } catch {
            logger.notice("closing: \(error.message)")
            perform(machine!.fail(error))
        }
    }

    private func decodeFrames() {
        defer { settleAcks() }
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
                guard settleAcks() else { return }
                perform(machine!.fail(BrokerError(code, error.description)))
                return
            }
            guard let frame else { return }
            ServerMetrics.framesReceived[frame.command]?.increment()
            // The ACKs before this frame are settled before it is even looked at: one that fails
            // closes the connection, and nothing after it may take effect.
            if frame.command != .ack, !settleAcks() { return }
            let actions = machine!.handle(frame)
            if actions.count == 1, case .acknowledge(let ackID, receipt: nil) = actions[0], !ordering.isHolding, isBrokerAck(ackID) {
                acksInARow.append(ackID)
                continue
            }
            // An ACK with a receipt (or of a replay) after a run: the run first.
            if !settleAcks() { return }
            perform(actions)
            // After CONNECT, the rest of the stream is read as the negotiated version writes it.
            if let machine { decoder.version = machine.version }
        }
    }

    /// Whether `ackID` names none of this connection's replay deliveries (those settle in their stream).
    private func isBrokerAck(_ ackID: String) -> Bool {
        (try? subscriptions.withLock { subscriptions throws(BrokerError) in try subscriptions.replay(owningAck: ackID) }) == .some(nil)
    }

    /// Settles the ACKs read in a row, together (before any other frame is acted on); false
    /// when one failed and the connection was refused for it.
    @discardableResult
    private func settleAcks() -> Bool {
        guard !acksInARow.isEmpty else { return true }
        let acks = acksInARow
        acksInARow = []
        guard let sessionID, let failure = broker.acknowledge(sessionID: sessionID, ackIDs: acks) else { return true }
        refuse(failure, receipt: nil)
        return false
    }

    func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        unfinished.release(connectionLimits)
        if let countedParty { connectionLimits.release(countedParty) }
        countedParty = nil
        recordExportLinksDown()
        for stream in streams.values { stream.stop() }
        streams = [:]
        subscriptions.withLock { $0.removeAll() }
        if let sessionID { broker.detach(sessionID: sessionID) }
        sessionID = nil
        if let refused = error as? TLSHandshakeError {
            ConnectionAdmission.recordHandshakeRefusal(refused, policy: policy)
        } else {
            logger.log(level: error == nil ? .debug : .info, "connection closed\(error.map { ": \($0)" } ?? "")")
        }
        onClose(self)
    }

    /// Re-admits the connection under a new policy (on its loop): a party that was removed or
    /// whose certificate was revoked is told why and disconnected.
    func readmit() {
        guard let credentials, let machine, !machine.isClosed else { return }
        if let refusal = ConnectionAdmission.check(credentials, policy: policy, federation: exports?.federation) {
            logger.notice("closing after a policy reload: \(refusal.message)")
            perform(self.machine!.fail(BrokerError(refusal.code, "after a policy reload: \(refusal.message)")))
        }
    }

    func channelDidDrain(_ channel: TLSChannel) {
        broker.wakeConsumers()
        // Resume on the next loop iteration, so that one fast reader cannot starve the loop.
        for stream in streams.values where stream.waitingForDrain { stream.wake() }
    }

    // MARK: Actions

    func perform(_ actions: [SessionAction]) {
        for action in actions where !ordering.hold(action) { perform(action) }
        if case let released = ordering.release(), !released.isEmpty { perform(released) }  // stored while held
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
            version = machine.version
            sessionID = broker.attach(party: machine.party, target: self)
            logger.info("connected", metadata: ["version": "\(version.rawValue)", "heart-beat": "\(agreement.sendEvery),\(agreement.expectEvery)"])
        case .publish(let publication, let receipt) where ExportService.isExportDestination(publication.destination):
            attempt(receipt) { [self] () throws(BrokerError) in
                guard let exports, let policy else { throw BrokerError(.notAuthorized, "this broker has no federation peers") }
                try exports.noteImportRefusal(publication, policy: policy)
            }
        case .publish(let publication, let receipt):
            publish(publication, receipt: receipt)
        case .subscribe(let id, let destination, let mode, let prefetch, let replay, let durable, let receipt):
            subscribe(id, to: destination, mode: mode, prefetch: prefetch, replay: replay, durable: durable, receipt: receipt)
        case .unsubscribe(let id, let durable, let receipt):
            attempt(receipt) { [self] () throws(BrokerError) in try unsubscribe(id, durable: durable) }
        case .acknowledge(let ackID, let receipt):
            settle(ackID, receipt: receipt) { [self] recorded throws(BrokerError) in
                try broker.acknowledge(sessionID: sessionID!, ackID: ackID, recorded: recorded)
            }
        case .reject(let ackID, let requeue, let receipt):
            settle(ackID, receipt: receipt) { [self] recorded throws(BrokerError) in
                try broker.reject(sessionID: sessionID!, ackID: ackID, requeue: requeue, recorded: recorded)
            }
        case .acknowledgeMessage(let reference, let receipt):
            settle(reference, receipt: receipt) { [self] ackID, recorded throws(BrokerError) in
                try broker.acknowledge(sessionID: sessionID!, ackID: ackID, recorded: recorded)
            }
        case .rejectMessage(let reference, let requeue, let receipt):
            settle(reference, receipt: receipt) { [self] ackID, recorded throws(BrokerError) in
                try broker.reject(sessionID: sessionID!, ackID: ackID, requeue: requeue, recorded: recorded)
            }
        case .query(let query, let receipt):
            answer(query, receipt: receipt)
        case .commit(_, let actions, let receipt):
            commit(actions, receipt: receipt)
        case .close:
            channel.close()
        }
    }

    // MARK: Writing

    func refuse(_ error: BrokerError, receipt: String?) {
        guard var machine else { return }
        logger.notice("refused: \(error)")
        let actions = machine.fail(error, receiptID: receipt)
        self.machine = machine
        perform(actions)
    }

    func send(_ frame: StompFrame) {
        ServerMetrics.framesSent[frame.command]?.increment()
        write(StompFrameEncoder.encode(frame, version: version))
    }

    /// A MESSAGE frame, encoded straight into the connection's outbound bytes.
    func writeFrame(of delivery: Delivery) {
        ServerMetrics.framesSent[.message]?.increment()
        channel.write { [version] buffer in delivery.encodeFrame(into: &buffer, version: version) }
        noteWrite()
    }

    func write(_ bytes: [UInt8]) {
        channel.write(bytes)
        noteWrite()
    }

    /// When the broker last sent something (the heart-beat timer sends only in silences).
    private func noteWrite() {
        lastWriteNanoseconds.store(Int64((ContinuousClock.now - Self.epoch) / .nanoseconds(1)), ordering: .relaxed)
    }
}
