import Logging
import MusterBroker
import MusterNet
import MusterStomp
import Synchronization

/// Glue between one TLS connection and the broker: bytes → frames → `SessionMachine` →
/// broker calls, and deliveries → MESSAGE frames. Runs on the connection's loop thread,
/// except `deliver` and publish completions, which only queue bytes or hop to the loop.
final class ServerSession: TLSChannelDelegate, DeliveryTarget, @unchecked Sendable {
    let broker: Broker
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
    private var lastRead = ContinuousClock.now
    private var openedAt = ContinuousClock.now
    /// Updated from any thread (deliveries), read on the loop for heart-beats.
    private let lastWriteNanoseconds = Atomic<Int64>(0)
    private static let epoch = ContinuousClock.now

    init(broker: Broker, limits: StompLimits, settings: SessionSettings, heartbeatTolerance: Double,
         connectTimeout: Duration = .seconds(30), logger: Logger, onClose: @escaping @Sendable (ServerSession) -> Void) {
        self.broker = broker
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
            machine = SessionMachine(party: party, sessionName: "session-\(UInt64.random(in: 1..<UInt64.max))", settings: settings)
            logger.debug("TLS connection open")
        case .failure(let reason):
            logger.warning("refused: \(reason)")
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
        if let sessionID { broker.detach(sessionID: sessionID) }
        sessionID = nil
        if let error {
            if error is TLSHandshakeError { logger.warning("\(error)") } else { logger.info("connection closed: \(error)") }
        } else {
            logger.debug("connection closed")
        }
        onClose(self)
    }

    func channelTick(_ channel: TLSChannel, now: ContinuousClock.Instant) {
        guard let machine, !machine.isClosed else { return }
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

    func deliver(_ delivery: Delivery) {
        write(StompFrameEncoder.encode(delivery.frame))
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
        case .connected(let agreement):
            heartbeat = HeartbeatMonitor(agreement: agreement, tolerance: heartbeatTolerance)
            sessionID = broker.attach(party: machine.party, target: self)
            logger.info("connected", metadata: ["heart-beat": "\(agreement.sendEvery),\(agreement.expectEvery)"])
        case .publish(let publication, let receipt):
            publish(publication, receipt: receipt)
        case .subscribe(let id, let destination, let mode, let prefetch, let receipt):
            attempt(receipt) { [self] () throws(BrokerError) in
                do throws(BrokerError) {
                    try broker.subscribe(sessionID: sessionID!, party: machine.party, subscriptionID: id, destination: destination, mode: mode, prefetch: prefetch)
                } catch {
                    self.machine?.subscriptionRefused()
                    throw error
                }
            }
        case .unsubscribe(let id, let receipt):
            attempt(receipt) { [self] () throws(BrokerError) in try broker.unsubscribe(sessionID: sessionID!, subscriptionID: id) }
        case .acknowledge(let ackID, let receipt):
            attempt(receipt) { [self] () throws(BrokerError) in try broker.acknowledge(sessionID: sessionID!, ackID: ackID) }
        case .reject(let ackID, let requeue, let receipt):
            attempt(receipt) { [self] () throws(BrokerError) in try broker.reject(sessionID: sessionID!, ackID: ackID, requeue: requeue) }
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

    private func attempt(_ receipt: String?, _ body: () throws(BrokerError) -> Void) {
        do throws(BrokerError) {
            try body()
            if let receipt { send(.receipt(receipt)) }
        } catch {
            refuse(error, receipt: receipt)
        }
    }

    private func publish(_ publication: Publication, receipt: String?) {
        broker.publish(publication) { [self] result in
            switch result {
            case .success:
                if let receipt { send(.receipt(receipt)) }
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

    private func write(_ bytes: [UInt8]) {
        lastWriteNanoseconds.store(Int64((ContinuousClock.now - Self.epoch) / .nanoseconds(1)), ordering: .relaxed)
        channel.write(bytes)
    }
}
