import Dispatch
import Foundation
public import Logging
public import MusterBroker
public import MusterClient
public import MusterNet
import MusterStomp
public import MusterProtocol
import Synchronization

/// The importing side of one link, the I/O shell around `ImportLink`: connects to the peer's
/// broker with this broker's certificate (STOMP 1.2, mutual TLS, heart-beats), subscribes to
/// its export destination from where this broker's log says the link stopped, stores each
/// record through the policy as its origin sender's SEND (or records its refusal), and
/// acknowledges cumulatively once the records are durable here. Reconnects with backoff.
public final class FederationLink: Sendable {
    public struct Settings: Sendable {
        public var peer: FederationPeer
        /// Which of the peer's two streams this link takes.
        public var lane: LinkLane = .bulk
        public var address: SocketAddress
        /// This broker's jurisdiction, and the identity its own records (import refusals) carry.
        public var jurisdiction: String
        public var brokerIdentity: PartyIdentity
        /// This broker's certificate and key (`muster://JURISDICTION/broker`).
        public var certificatePath: String
        public var privateKeyPath: String
        public var backoff: (first: Duration, most: Duration) = (.milliseconds(200), .seconds(15))
        /// Whether a certificate (issuer fingerprint, serial) is revoked by a CRL this broker loads.
        public var isRevoked: @Sendable (String, String) -> Bool = { _, _ in false }

        public init(peer: FederationPeer, address: SocketAddress, jurisdiction: String, brokerIdentity: PartyIdentity,
                    certificatePath: String, privateKeyPath: String) {
            self.peer = peer
            self.address = address
            self.jurisdiction = jurisdiction
            self.brokerIdentity = brokerIdentity
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
        }
    }

    struct State: ~Copyable {
        var link: ImportLink
        /// Each message received, with the peer's position it stands for (nil: a gap frame).
        var acks = CumulativeAcks<(message: ReceivedMessage, position: ImportLink.Position?)>()
        var status: LinkStatus
        /// The newest message that may be acknowledged and was not yet.
        var ackDue: ReceivedMessage?
        /// Refusal notices for the peer, sent before the next ACK.
        var noticesDue: [StompFrame] = []
        /// The current connection's session number: completions of an earlier one are ignored.
        var session = 0
        var failure: String?
        /// Records handed to the broker whose append has not completed.
        var inFlight = 0
        var connection: MusterConnection?
        /// An "up" record was written for the current connection (so a "down" is owed).
        var upRecorded = false
        /// What the current connection stores (imports, refusals, gaps): after one fails, no
        /// later one is stored, so the position never passes a record that was not taken.
        var stores: StoreSequence
    }

    public let settings: Settings
    let broker: Broker
    let federation: FederationState
    let logger: Logger
    let state: Mutex<State>
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// Signalled when `run` has returned.
    private let ended = DispatchSemaphore(value: 0)
    /// Told the local offset and the peer's position of each record taken (the position hint).
    let onTaken: @Sendable (UInt64, ImportLink.Position) -> Void
    /// Set while a peer relays, or once one did: the origin keys decided here (imported, or
    /// refused by the policy), by whichever link, so that a copy arriving by a second route is dropped.
    public let originKeys: SharedOriginKeys?

    public init(settings: Settings, position: ImportLink.Position?, broker: Broker, federation: FederationState, logger: Logger,
                originKeys: SharedOriginKeys? = nil, onTaken: @escaping @Sendable (UInt64, ImportLink.Position) -> Void = { _, _ in }) {
        self.originKeys = originKeys
        self.settings = settings
        self.broker = broker
        self.federation = federation
        var logger = logger
        logger[metadataKey: "lane"] = "\(settings.lane.rawValue)"
        self.logger = logger
        self.onTaken = onTaken
        let status = LinkStatus(peer: settings.peer.jurisdiction, lane: settings.lane, address: "\(settings.address)")
        state = Mutex(State(link: ImportLink(peer: settings.peer.jurisdiction, position: position), status: status,
                            stores: StoreSequence(urgent: settings.lane == .urgent)))
    }

    /// The link's status; its last position is formatted here, not for every record taken.
    public var status: LinkStatus {
        state.withLock { state in
            var status = state.status
            status.lastLinkPosition = state.link.position.map { FederationHeader.originKey(logID: $0.logID, offset: $0.offset) }
            return status
        }
    }

    public func start() {
        task.withLock { $0 = Task { [self] in await run() } }
    }

    /// Stops the link and returns once nothing it handed to the broker is still being stored
    /// (so that its position in the log is final: a new link for the peer may start from it).
    /// Bounded: a link stuck connecting (it has nothing in flight then) is left to end on its own.
    public func stopAndWait() {
        guard let running = task.withLock({ $0 }) else { return }
        running.cancel()
        state.withLock { $0.connection }?.close()
        if ended.wait(timeout: .now() + .seconds(10)) == .timedOut {
            logger.warning("federation link still connecting after 10 s of stopping; left to end on its own", metadata: ["peer": "\(settings.peer.jurisdiction)"])
        } else {
            ended.signal()
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while state.withLock({ $0.inFlight > 0 }), ContinuousClock.now < deadline { usleep(2_000) }
    }

    private func run() async {
        defer { ended.signal() }
        var delay = settings.backoff.first
        if let alarm = state.withLock({ $0.link.alarm }) {
            state.withLock { $0.status.state = .halted; $0.status.alarm = alarm }
            return
        }
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await connectAndImport()
            } catch {
                let stopping = Task.isCancelled || error is CancellationError
                // A record that could not be stored closes the connection (`fail`): the cause is
                // that, not the closed connection the subscription then reports.
                let cause = state.withLock { state in defer { state.failure = nil }; return state.failure } ?? "\(error)"
                if state.withLock({ state in defer { state.upRecorded = false }; return state.upRecorded }) {
                    recordLinkEvent("down", certificate: nil, reason: stopping ? "the broker is stopping the link" : cause)
                }
                if stopping { break }
                note(error: cause)
            }
            await waitForInFlight()
            let halted = state.withLock { state -> Bool in
                state.link.forgetSubmitted()
                state.acks.reset()
                state.ackDue = nil
                state.session += 1
                state.stores = StoreSequence(urgent: settings.lane == .urgent)
                if let alarm = state.link.alarm { state.status.state = .halted; state.status.alarm = alarm } else { state.status.state = .disconnected }
                state.status.connectedSince = nil
                state.status.reconnects += 1
                return state.link.alarm != nil
            }
            if halted {
                logger.critical("federation link halted; restart the broker once the peer's log is understood", metadata: ["peer": "\(settings.peer.jurisdiction)", "alarm": "\(status.alarm ?? "")"])
                return
            }
            // A link that stayed up a while starts its backoff again.
            if ContinuousClock.now - started > .seconds(10) { delay = settings.backoff.first }
            let jitter = Duration.milliseconds(Int.random(in: 0...max(1, Int(delay / .milliseconds(1)) / 4)))
            try? await Task.sleep(for: delay + jitter)
            delay = min(delay * 2, settings.backoff.most)
        }
    }

    private func connectAndImport() async throws {
        let peer = settings.peer
        let identity = ClientIdentity(certificatePath: settings.certificatePath, privateKeyPath: settings.privateKeyPath,
                                      trustedAuthorityPaths: [peer.authorityPath])
        let options = ClientOptions(server: settings.address, identity: identity, heartbeatSend: peer.link.heartbeat, heartbeatWant: peer.link.heartbeat)
        state.withLock { $0.status.state = .connecting }
        let connection = try await MusterConnection.connect(options)
        defer {
            state.withLock { $0.connection = nil }
            Task { try? await connection.disconnect() }
        }
        try checkIdentity(of: connection)
        state.withLock { $0.connection = connection }
        try Task.checkCancellation()  // a stop that came before the connection could be closed
        recordLinkEvent("up", certificate: connection.peerCertificate, reason: nil)
        state.withLock { $0.upRecorded = true }
        let (from, session) = state.withLock { state in
            state.link.subscribed()
            return (state.link.subscribeFrom, state.session)
        }
        let subscription = try await connection.subscribe(to: exportDestination.description, ack: .client, id: "link-\(settings.jurisdiction)-\(settings.lane.rawValue)",
                                                          headers: ["x-stream-offset": from, "durable": "true", "prefetch-count": String(peer.link.prefetch)])
        state.withLock {
            $0.status.state = .connected
            $0.status.connectedSince = broker.clock()
            $0.failure = nil
        }
        logger.notice("federation link up", metadata: ["peer": "\(peer.jurisdiction)", "address": "\(settings.address)", "from": "\(from)"])
        let (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let acker = Task { [self] in
            for await _ in signals {
                let (notices, message) = state.withLock { state in
                    defer { state.noticesDue = []; state.ackDue = nil }
                    return (state.noticesDue, state.ackDue)
                }
                await send(notices, on: connection)
                if let message, message.ackID != nil { try? await connection.ack(message) }
            }
        }
        // Notices a cut connection did not confirm go first.
        if state.withLock({ !$0.noticesDue.isEmpty }) { signal.yield() }
        defer {
            signal.finish()
            acker.cancel()
        }
        var previous: InboundRecord.Previous?
        for try await message in subscription {
            try Task.checkCancellation()
            try await take(message, previous: &previous, session: session, signal: signal)
            if let failure = state.withLock({ $0.failure }) { throw LinkFailure(failure) }
        }
        throw LinkFailure("the peer's broker ended the subscription")
    }

    /// Sends refusal notices, each confirmed by a receipt; those a cut connection did not confirm
    /// go again on the next connection (at least once: the peer may record one twice). One the
    /// peer refuses is logged and dropped (sending it again would be refused again).
    private func send(_ notices: [StompFrame], on connection: MusterConnection) async {
        for (index, notice) in notices.enumerated() {
            do {
                _ = try await connection.send(notice, awaitingReceipt: true)
            } catch let error as MusterClientError where error.code != nil {
                logger.warning("the peer refused an import refusal notice", metadata: ["origin": "\(notice.headers[FederationHeader.origin] ?? "")", "error": "\(error)"])
            } catch {
                state.withLock { $0.noticesDue.insert(contentsOf: notices[index...], at: 0) }
                return
            }
        }
    }

    /// Where this link reads at the peer.
    var exportDestination: Destination { FederationPeer.exportDestination(to: settings.jurisdiction, settings.lane) }

    /// The evidence in this broker's log of the link coming up (with the exporter's
    /// certificate) or going down (with why), and the last position taken then.
    private func recordLinkEvent(_ event: String, certificate: PeerCertificate?, reason: String?) {
        let offset = state.withLock { $0.link.position?.offset }
        let headers = FederationHeader.linkEvent(event, peer: settings.peer.jurisdiction, lane: settings.lane,
                                                 certificate: certificate.map { "\($0.issuerFingerprint)/\($0.serialNumber)" }, offset: offset, reason: reason,
                                                 side: "import")
        broker.publishAsBroker(Publication(destination: FederationHeader.linkEventsDestination, headers: StompHeaders(headers), body: [],
                                           sender: settings.brokerIdentity))
    }

    /// The exporter must be the peer's broker: its certificate names `muster://PEER/broker` and
    /// chains to the CA configured for the peer (the handshake checked the chain and the address).
    private func checkIdentity(of connection: MusterConnection) throws {
        let peer = settings.peer
        let certificate = connection.peerCertificate
        let anchors = [certificate?.anchorFingerprint, certificate?.issuerFingerprint].compactMap { $0 }
        guard let certificate, certificate.uriNames.contains(peer.brokerIdentity.uri),
              peer.authorityFingerprints.isEmpty || anchors.contains(where: peer.authorityFingerprints.contains) else {
            connection.close()
            throw LinkFailure("the broker at \(settings.address) presented a certificate for \(certificate?.uriNames.joined(separator: ", ") ?? "no one"), "
                              + "not \(peer.brokerIdentity.uri) from the CA configured for \(peer.jurisdiction)")
        }
        if settings.isRevoked(certificate.issuerFingerprint, certificate.serialNumber) {
            connection.close()
            throw LinkFailure("the certificate of \(peer.brokerIdentity.uri) at \(settings.address) (serial \(certificate.serialNumber)) is revoked "
                              + "by \(peer.jurisdiction)'s certificate revocation list")
        }
    }

    func fail(_ reason: String, session: Int) {
        let (connection, first) = state.withLock { state in
            state.inFlight -= 1
            defer { state.failure = state.failure ?? reason }
            return (state.connection, state.failure == nil)
        }
        // The records in flight behind the first failure fail with it: said once.
        logger.log(level: first ? .error : .debug, "federation link stops importing", metadata: ["peer": "\(settings.peer.jurisdiction)", "reason": "\(reason)"])
        // Reconnect (after the backoff) rather than wait for the peer's next record to notice.
        connection?.close()
    }

    /// Logs a failure; the same failure again (a peer that stays down) only at debug level.
    private func note(error: String) {
        let now = broker.clock()
        let repeated = state.withLock { state -> Bool in
            defer {
                state.status.lastError = error
                state.status.lastErrorAt = now
            }
            return state.status.lastError == error
        }
        logger.log(level: repeated ? .debug : .warning, "federation link down", metadata: ["peer": "\(settings.peer.jurisdiction)", "error": "\(error)"])
    }

    /// Waits until every record handed to the broker was stored or refused, so that the next
    /// subscription starts from a position nothing is still moving.
    private func waitForInFlight() async {
        // Cancelled: `stopAndWait` waits (a sleep would return at once, spinning).
        while !Task.isCancelled, state.withLock({ $0.inFlight > 0 }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Why a link's connection was given up (it reconnects, unless halted).
struct LinkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
