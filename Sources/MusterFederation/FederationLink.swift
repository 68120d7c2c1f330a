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

    private struct State: ~Copyable {
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
    private let broker: Broker
    private let federation: FederationState
    private let logger: Logger
    private let state: Mutex<State>
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// Signalled when `run` has returned.
    private let ended = DispatchSemaphore(value: 0)
    /// Told the local offset and the peer's position of each record taken (the position hint).
    private let onTaken: @Sendable (UInt64, ImportLink.Position) -> Void
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
                if state.withLock({ state in defer { state.upRecorded = false }; return state.upRecorded }) {
                    recordLinkEvent("down", certificate: nil, reason: stopping ? "the broker is stopping the link" : "\(error)")
                }
                if stopping { break }
                note(error: "\(error)")
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
        for try await message in subscription {
            try Task.checkCancellation()
            try await take(message, session: session, signal: signal)
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
    private var exportDestination: Destination { FederationPeer.exportDestination(to: settings.jurisdiction, settings.lane) }

    /// The evidence in this broker's log of the link coming up (with the exporter's
    /// certificate) or going down (with why), and the last position taken then.
    private func recordLinkEvent(_ event: String, certificate: PeerCertificate?, reason: String?) {
        let offset = state.withLock { $0.link.position?.offset }
        let headers = FederationHeader.linkEvent(event, peer: settings.peer.jurisdiction, lane: settings.lane,
                                                 certificate: certificate.map { "\($0.issuerFingerprint)/\($0.serialNumber)" }, offset: offset, reason: reason)
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

    /// Decides about one record and hands it to the broker; its completion acknowledges it.
    private func take(_ message: ReceivedMessage, session: Int, signal: AsyncStream<Void>.Continuation) async throws {
        if let gap = message.headers[FederationHeader.gap] { return try takeGap(gap, message, session: session, signal: signal) }
        let record: InboundRecord
        do { record = try InboundRecord(headers: message.headers, body: message.body) } catch {
            throw LinkFailure("\(error.message)")
        }
        let (decision, ticket, stores) = state.withLock { state in (state.link.consider(record.link), state.acks.received((message, record.link)), state.stores) }
        switch decision {
        case .halt(let alarm):
            throw LinkFailure("halted: \(alarm)")
        case .duplicate:
            state.withLock { $0.status.duplicatesDropped += 1 }
            settle(ticket, session: session, signal: signal)
        case .take:
            if let originKeys {
                var claim = originKeys.claim(record.originKey)
                // Another link is storing a copy: wait for it (it may fail, or be refused for its
                // route), holding this link's later records back so that they keep their order.
                while claim == .pending {
                    try await Task.sleep(for: .milliseconds(2))
                    claim = originKeys.claim(record.originKey)
                }
                if claim == .stored {
                    // A copy that came by another route is stored: dropped, and taken once every
                    // record before it is (`settle`).
                    state.withLock { $0.status.duplicatesDropped += 1 }
                    return settle(ticket, session: session, signal: signal)
                }
            }
            state.withLock { $0.inFlight += 1 }
            let peer = settings.peer.jurisdiction
            switch record.plan(from: peer, here: settings.jurisdiction, rules: federation.rules, lane: settings.lane) {
            case .success(var publication):
                publication.sequence = stores
                let refusal = broker.publishImported(publication) { [self] result in
                    switch result {
                    case .success(let stored):
                        originKeys?.stored(record.originKey)
                        taken(record, localOffset: stored.offset, refused: false, ticket: ticket, session: session, signal: signal)
                    case .failure(let error):
                        originKeys?.released(record.originKey)
                        fail("cannot store what \(peer) sent: \(error.message)", session: session)
                    }
                }
                if let refusal { refuse(record, refusal, ofRoute: false, ticket: ticket, session: session, stores: stores, signal: signal) }
            case .failure(let reason):
                refuse(record, reason, ofRoute: true, ticket: ticket, session: session, stores: stores, signal: signal)
            }
        }
    }

    /// Records the refusal, queued (in the link's sequence) before the next record is. `ofRoute`:
    /// refused for the route it came by (`InboundRecord.plan`), not by the policy.
    private func refuse(_ record: InboundRecord, _ reason: BrokerError, ofRoute: Bool, ticket: UInt64, session: Int, stores: StoreSequence,
                        signal: AsyncStream<Void>.Continuation) {
        let peer = settings.peer.jurisdiction
        logger.warning("federation import refused", metadata: ["peer": "\(peer)", "origin": "\(record.origin)", "reason": "\(reason.message)"])
        var refusal = record.refusalRecord(from: peer, reason: reason, broker: settings.brokerIdentity, lane: settings.lane, ofRoute: ofRoute)
        refusal.sequence = stores
        broker.publishAsBroker(refusal) { [self] result in
            switch result {
            case .success(let stored):
                // Refused for its route: another route's copy may still be taken. Refused by the
                // policy: decided, for every route (a copy would only be refused and counted again).
                if ofRoute { originKeys?.released(record.originKey) } else { originKeys?.stored(record.originKey) }
                // The origin hears of it too, where its sender's refusals are recorded. Not of a
                // relayed record: the relay's log does not hold it, so it could not record it.
                if record.via.isEmpty {
                    let notice = record.refusalNotice(reason, to: exportDestination)
                    state.withLock { $0.noticesDue.append(notice) }
                }
                taken(record, localOffset: stored.offset, refused: true, ticket: ticket, session: session, signal: signal)
            case .failure(let error):
                originKeys?.released(record.originKey)
                fail("cannot record the refusal of \(record.origin): \(error.message)", session: session)
            }
        }
    }

    private enum Outcome { case imported, refused, gap }

    private func taken(_ record: InboundRecord, localOffset: UInt64, refused: Bool, ticket: UInt64, session: Int,
                       signal: AsyncStream<Void>.Continuation) {
        let originTime = record.headers[FederationHeader.originTime].flatMap { Int64($0) } ?? record.headers[ReservedHeader.timestamp].flatMap { Int64($0) }
        taken(record.link, originTime: originTime, peerLogHead: record.headers[FederationHeader.linkHead].flatMap { UInt64($0) },
              outcome: refused ? .refused : .imported, localOffset: localOffset, ticket: ticket, session: session, signal: signal)
    }

    /// On the log writer's thread, once the record is stored: kept to one lock.
    private func taken(_ position: ImportLink.Position, originTime: Int64?, peerLogHead: UInt64? = nil, outcome: Outcome, localOffset: UInt64,
                       ticket: UInt64, session: Int, signal: AsyncStream<Void>.Continuation) {
        let now = broker.clock()
        // The hint before the record stops counting as in flight: a successor link (after
        // `stopAndWait`) then never has its newer hint overwritten by this one.
        onTaken(localOffset, position)
        // Nothing of a connection is stored past a record of it that was not (`State.stores`),
        // so every record stored is taken, even after the connection failed.
        let due = state.withLock { state -> Bool in
            state.link.taken(position)
            if let originTime { state.status.lastOriginTime = originTime }
            if let peerLogHead { state.status.peerLogHead = peerLogHead }
            state.status.lastImportedAt = now
            switch outcome {
            case .imported: state.status.imported += 1
            case .refused: state.status.refused += 1
            case .gap: state.status.gaps += 1
            }
            state.inFlight -= 1
            return Self.settle(ticket, session: session, in: &state)
        }
        if due { signal.yield() }
    }

    /// The peer reports records pruned before this link took them: recorded here (the record's
    /// `muster-link` moves the position past them), shown in the status, and never silent.
    private func takeGap(_ gap: String, _ message: ReceivedMessage, session: Int, signal: AsyncStream<Void>.Continuation) throws {
        let peer = settings.peer.jurisdiction
        guard let linkText = message.headers[FederationHeader.link], let end = FederationHeader.parseOrigin(linkText) else {
            throw LinkFailure("the peer sent a gap (\(gap)) without \(FederationHeader.link)")
        }
        let position = ImportLink.Position(logID: end.logID, offset: end.offset, hash: nil)
        let (decision, ticket, stores) = state.withLock { state in (state.link.gapReported(through: position), state.acks.received((message, nil)), state.stores) }
        if case .halt(let alarm) = decision { throw LinkFailure("halted: \(alarm)") }
        if gap == FederationHeader.noGap {
            // Only the record last taken was pruned at the peer: nothing is missing, the stream goes on after it.
            return settle(ticket, session: session, signal: signal)
        }
        let now = broker.clock()
        state.withLock {
            $0.inFlight += 1
            $0.status.lastError = "gap: \(peer)'s records \(gap) were pruned before this link took them"
            $0.status.lastErrorAt = now
        }
        logger.error("federation gap: records were pruned at the peer before this link took them", metadata: ["peer": "\(peer)", "offsets": "\(gap)"])
        var headers: StompHeaders = [FederationHeader.gap: gap, FederationHeader.link: linkText, FederationHeader.via: peer]
        if settings.lane == .urgent { headers[FederationHeader.lane] = settings.lane.rawValue }
        let record = Publication(destination: FederationHeader.importGapDestination, headers: headers, body: [],
                                 sender: settings.brokerIdentity, sequence: stores)
        broker.publishAsBroker(record) { [self] result in
            switch result {
            case .success(let stored):
                taken(position, originTime: nil, outcome: .gap, localOffset: stored.offset, ticket: ticket, session: session, signal: signal)
            case .failure(let error):
                fail("cannot record the gap \(gap) from \(peer): \(error.message)", session: session)
            }
        }
    }

    private func settle(_ ticket: UInt64, session: Int, signal: AsyncStream<Void>.Continuation) {
        if state.withLock({ Self.settle(ticket, session: session, in: &$0) }) { signal.yield() }
    }

    /// The record of `ticket` is done with; whether an acknowledgement is due now.
    private static func settle(_ ticket: UInt64, session: Int, in state: inout State) -> Bool {
        guard state.session == session, let due = state.acks.done(ticket) else { return false }
        state.ackDue = due.message
        // Everything up to it is taken: a copy another route stored moves the position too
        // (in memory: the log still says the link's last stored record, so after a restart
        // the peer sends the copies again, and they are dropped again).
        if let position = due.position, state.link.position.map({ position.logID == $0.logID && position.offset > $0.offset }) ?? true {
            state.link.taken(position)
        }
        return true
    }

    private func fail(_ reason: String, session: Int) {
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
