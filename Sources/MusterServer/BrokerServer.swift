import Foundation
public import Logging
public import MusterBroker
public import MusterFederation
public import MusterLog
public import MusterNet
import Synchronization
import MusterProtocol
import MusterWorkflow

/// The running broker: TLS listener, event loops, sessions and the broker core.
public final class BrokerServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let broker: Broker
    /// The policy in force; `reload()` replaces it.
    public let policy: PolicyGate
    /// The durable log every accepted message is written to before its RECEIPT.
    public let log: MessageLog
    /// Where the log ended when this process opened it (the metrics count appends from there).
    let logOffsetAtStart: UInt64
    /// Which log this is: jurisdiction, random id, creation time (the origin of federation keys).
    public let logIdentity: LogIdentity
    /// The peer brokers and their rules (`federation:` in muster.yaml; a reload re-reads them).
    public let federation: FederationState
    public var federationRules: FederationRules { federation.rules }
    /// What sessions read back from the log, and how they answer queries.
    private let history: LogMessageStore
    let queries: SessionQueries
    private let connectionLimits: ConnectionLimits
    private let logger: Logger
    private var group: EventLoopGroup?
    private var listener: TCPListener?
    /// The TLS context new connections get; a reload may replace it (new CA files).
    private let context = Mutex<TLSContext?>(nil)
    let sessions = Mutex<[ObjectIdentifier: ServerSession]>([:])
    private let pump: ConsumerPump
    private let timers: WorkflowTimers
    /// Connections opened plus connections closed (activity, for `heapReturner`).
    private let connectionEvents = Atomic<Int>(0)
    private var heapReturner: HeapReturner?
    /// The links that import from peers (those with an address in federation.peers).
    let links: FederationLinks
    private let snapshotter: WorkflowSnapshotter
    /// Signs the log's head into the log at an interval (`log.checkpoint-interval`).
    private let checkpoints: CheckpointRecorder
    /// What the coordinators' board reads and sends (served by `BoardServer` when `web.listen` is set).
    public let board: BoardDesk

    /// Loads the policy, opens (and recovers) the log and rebuilds the queues and durable
    /// subscriptions; throws `ConfigurationError` when the policy or the consumer registry
    /// cannot be read, `LogError` when the log is damaged or cannot be opened.
    /// `clock` and `speed` compress time for `muster demo`; a production broker keeps the defaults.
    public init(configuration: ServerConfiguration, logger: Logger,
                clock: @escaping @Sendable () -> Int64 = { WallClock.milliseconds() }, speed: Double = 1) throws {
        self.configuration = configuration
        self.logger = logger
        let loaded = try PolicyLoader.load(configuration.policyFiles)
        for warning in loaded.warnings { logger.warning("\(warning)") }
        logger.info("policy loaded", metadata: [
            "parties": "\(loaded.policy.parties.count)", "topics": "\(loaded.policy.topics.count)", "types": "\(loaded.policy.schemas.keys.sorted().joined(separator: ","))",
        ])
        self.policy = PolicyGate(loaded.policy)
        var options = configuration.logOptions
        options.notice = { [logger] in logger.notice("\($0)") }
        let started = ContinuousClock.now
        logger.info("opening the log", metadata: ["directory": "\(options.logDirectory)", "fsync": "\(options.fsync)"])
        let log = try MessageLog.open(options)
        let report = log.recovery
        if let torn = report.truncated {
            logger.warning("recovered the log: cut off \(torn) (a write interrupted by a crash; it never got a receipt)")
        }
        if let removed = report.removedSegment {
            logger.warning("recovered the log: removed segment \(removed), whose creation a crash interrupted")
        }
        logger.info(options.verifyAll ? "log verified (every record)" : "log opened", metadata: [
            "records": "\(report.records)", "segments": "\(report.segments)",
            "scanned": "\(report.recordsRead)", "indexed-segments": "\(report.segmentsFromIndexes)",
            "head": "\(report.head.map { "\($0)" } ?? "empty")",
            "seconds": "\(Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000)",
        ])
        self.log = log
        self.logOffsetAtStart = log.nextOffset
        let (identity, createdIdentity) = try LogIdentity.establish(log: log, dataDirectory: configuration.dataDirectory,
                                                                    jurisdiction: configuration.jurisdiction,
                                                                    broker: configuration.brokerIdentity, clock: clock)
        logger.info(createdIdentity ? "log identity recorded" : "log identity", metadata: [
            "log-id": "\(identity.logID)", "jurisdiction": "\(identity.jurisdiction)", "offset": "\(identity.offset)",
        ])
        self.logIdentity = identity
        let federation = FederationState(configuration.federation)
        self.federation = federation
        logger.info("federation", metadata: ["peers": "\(Self.describe(configuration.federation))"])
        let registry = ConsumerRegistry(dataDirectory: configuration.dataDirectory)
        let rebuilt = try ConsumerRecovery(registry: try registry.load(), log: log, rules: configuration.delivery)
        logger.info("consumers rebuilt", metadata: [
            "consumers": "\(rebuilt.consumers.count)", "records-read": "\(rebuilt.recordsRead)",
            "awaiting-redelivery": "\(rebuilt.consumers.reduce(0) { $0 + $1.state.waitingCount })",
        ])
        let store = LogMessageStore(log: log)
        let firstOffset = log.firstOffset
        let restore = try WorkflowRestore.read(log, dataDirectory: configuration.dataDirectory) { [store] record in
            store.noteExportStamps(ofStoredBeforeStart: record)
        }
        if let problem = restore.problem {
            logger.warning("workflow snapshot not used (rebuilding the workflows from the whole log): \(problem)")
        }
        // Export streams read the log below where this start-up's read began.
        store.exportIndex.coverHistory(from: restore.snapshotThrough ?? firstOffset)
        let workflows = restore.state
        logger.info("workflows rebuilt", metadata: [
            "summonses": "\(workflows.book.summonses.count)", "hand-offs": "\(workflows.book.handoffs.count)",
            "operations": "\(workflows.book.operations.count)", "records-read": "\(restore.recordsRead)",
            "from-snapshot": restore.snapshotThrough.map { "through offset \($0)" } ?? "no",
        ])
        let snapshotter = WorkflowSnapshotter(log: log, dataDirectory: configuration.dataDirectory, logger: logger, restored: restore)
        self.snapshotter = snapshotter
        let gate = policy
        let jurisdiction = configuration.jurisdiction
        let desk = WorkflowDesk(
            identity: configuration.brokerIdentity, clock: clock,
            directory: { WorkflowDirectory(parties: gate.policy.parties, here: jurisdiction, linked: federation.rules.workflowJurisdictions) },
            inboxCheck: { gate.admit($0).refusal },
            restored: (workflows.book, workflows.deliveries),
            rebuild: {
                // After a failed append: the replica (the log's state, not the desk's), read on to the log's end.
                let recovery = try snapshotter.current()
                return (recovery.book, recovery.deliveries)
            },
            exportStamp: { federation.rules.stamp($0, exportedTo: $1, laneOf: $2) })
        let publishIDs = try PublishIDRecovery.read(log, settings: configuration.publishIDs, now: clock())
        logger.info("publish ids remembered", metadata: ["ids": "\(publishIDs.count)", "window-ms": "\(configuration.publishIDs.window)"])
        self.broker = Broker(store: store, gate: ExportStampingGate(policy: policy, federation: federation), rules: configuration.delivery, clock: clock, restored: rebuilt.consumers, workflow: desk,
                             publishIDs: configuration.publishIDs, restoredPublishIDs: publishIDs)
        self.history = store
        self.connectionLimits = ConnectionLimits(configuration.connectionLimits)
        RefusalAudit.install(on: policy, broker: broker, identity: configuration.brokerIdentity, clock: clock, logger: logger)
        self.pump = ConsumerPump(broker: broker, registry: registry, logger: logger)
        self.timers = WorkflowTimers(broker: broker, clock: clock, speed: speed)
        let policyInForce = policy
        self.links = FederationLinks(configuration: configuration, broker: broker, federation: federation, log: log, logger: logger,
                                     isRevoked: { issuer, serial in policyInForce.policy.trust.revokedSerials[issuer]?.contains(serial) == true })
        self.checkpoints = CheckpointRecorder(broker: broker, log: log, identity: identity, configuration: configuration, federation: federation, logger: logger)
        self.queries = SessionQueries(broker: broker, workflows: desk, history: store, policy: policy, checkpoints: checkpoints)
        let importLinks = links
        self.board = BoardDesk(broker: broker, policy: policy, desk: desk, log: log, identity: identity, links: { importLinks.statuses }, logger: logger)
        broker.onReadFailure { [logger] name, error in logger.error("consumer \(name) cannot read the log: \(error)") }
        let lagLimit = configuration.delivery.maxFanOutLag
        broker.onPublisherFlowChange { [logger] change, lag in
            switch change {
            case .pause: logger.notice("publishers wait: fan-out is \(lag) records behind (limits.max-fan-out-lag: \(lagLimit))")
            case .resume: logger.notice("publishers read again: fan-out is \(lag) records behind")
            }
        }
    }

    /// Loads the TLS files, starts the loops and listens. Returns the bound address.
    @discardableResult
    public func start() throws -> SocketAddress {
        Socket.ignoreBrokenPipeSignal()
        // A file-size limit (ulimit -f) then fails a log write with EFBIG, which the broker
        // refuses and reports, instead of killing the process.
        signal(SIGXFSZ, SIG_IGN)
        let context = try TLSContext(role: .server, configuration: configuration.tls)
        let group = try EventLoopGroup(count: configuration.eventLoopCount)
        let acceptLoop = group.loops[0]
        let listener: TCPListener
        do {
            listener = try TCPListener(address: configuration.listen, loop: acceptLoop, onError: { [logger] error in
                logger.error("accepting connections: \(error)")
            }, onAccept: { [self] descriptor in
                accept(descriptor, loop: group.next())
            })
        } catch {
            group.shutdown()
            throw error
        }
        self.context.withLock { $0 = context }
        self.group = group
        self.listener = listener
        pump.start()
        snapshotter.start()
        checkpoints.start()
        // Deadlines that passed while the broker was down are escalated now, naming the deadline itself.
        timers.start()
        if let period = configuration.memoryReturnQuietPeriod {
            let heapReturner = HeapReturner(period: period, logger: logger, releaseCaches: { [history] in history.releaseRecentMessages() }) { [weak self] in
                self.map { HeapReturn.Activity(logEnd: $0.log.nextOffset, connectionEvents: $0.connectionEvents.load(ordering: .relaxed)) }
            }
            heapReturner.start()
            self.heapReturner = heapReturner
        }
        try links.update()
        let bound = SocketAddress(host: configuration.listen.host, port: listener.boundPort)
        let memoryReturn = configuration.memoryReturnQuietPeriod.map { "after \(Int($0 / .milliseconds(1))) ms quiet" } ?? "off"
        logger.info("listening", metadata: ["address": "\(bound)", "loops": "\(group.loops.count)", "memory-return": "\(memoryReturn)",
                                            "tls-min": "\(configuration.minimumTLSVersion.rawValue)"])
        return bound
    }

    /// The TLS context new connections get (the board's too): nil before `start`.
    public var tlsContext: TLSContext? { context.withLock { $0 } }

    /// Re-reads the parties, topics, schemas and CRLs (SIGHUP, `muster reload`). The new
    /// policy applies to the next frame; connections whose party was removed or revoked are
    /// closed with the reason. A broken configuration is rejected whole; the old one stays.
    public func reload() throws {
        let loaded = try PolicyLoader.load(configuration.policyFiles)
        // The federation rules live in muster.yaml; the rest of it applies at the next start.
        let federationRules = try ServerConfiguration.load(file: configuration.file).federation
        var tls = configuration.tls
        tls.trustedAuthorityPaths = ServerConfiguration.authorityPaths(parties: loaded.parties.jurisdictions.flatMap(\.authorityPaths),
                                                                       extra: configuration.extraAuthorityPaths, federation: federationRules)
        let newContext = try TLSContext(role: .server, configuration: tls)
        for warning in loaded.warnings { logger.warning("\(warning)") }
        policy.replace(loaded.policy)
        context.withLock { $0 = newContext }
        federation.replace(federationRules)
        try links.update()
        logger.notice("federation reloaded", metadata: ["peers": "\(Self.describe(federationRules))"])
        // Deadlines are judged again at once: a reload is also how a test moves the broker's clock.
        timers.wake()
        let open = sessions.withLock { Array($0.values) }
        for session in open { session.channel.loop.execute { session.readmit() } }
        logger.notice("policy reloaded", metadata: [
            "parties": "\(loaded.policy.parties.count)", "topics": "\(loaded.policy.topics.count)", "connections": "\(open.count)",
        ])
    }

    private static func describe(_ rules: FederationRules) -> String {
        rules.peers.isEmpty ? "none" : rules.peers.map(\.jurisdiction).joined(separator: ",")
    }

    /// Stops accepting, tells every client the broker is going away, and stops the loops.
    public func shutdown() {
        listener?.close()
        let open = sessions.withLock { Array($0.values) }
        for session in open {
            session.channel.loop.execute {
                session.perform([.send(.error(BrokerError(.shuttingDown, "the broker is shutting down"))), .close])
            }
        }
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline, !sessions.withLock({ $0.isEmpty }) {
            Thread.sleep(forTimeInterval: 0.02)
        }
        checkpoints.stop()
        links.stop()
        group?.shutdown()
        heapReturner?.stop()
        timers.stop()
        pump.stop()
        // Delivery events recorded since the pump's last checkpoint (sessions closing) may still
        // wait for a batch: handed to the log and synced before it closes.
        history.waitUntilDurable()
        snapshotter.stop()
        log.close()
        logger.info("stopped")
    }

    private func accept(_ descriptor: Int32, loop: EventLoop) {
        ServerMetrics.connectionsAccepted.increment()
        guard let context = context.withLock({ $0 }) else { close(descriptor); return }
        let open = sessions.withLock { $0.count }
        guard open < connectionLimits.settings.maxConnections else {
            logger.warning("refused a connection: the broker has \(open) (limits.max-connections)")
            close(descriptor)
            return
        }
        let session = ServerSession(
            broker: broker, policy: policy, history: history, queries: queries, consumers: pump, limits: configuration.limits,
            connectionLimits: connectionLimits, settings: configuration.session,
            heartbeatTolerance: configuration.heartbeatTolerance, exports: ExportService(federation: federation, logID: logIdentity.logID, brokerIdentity: configuration.brokerIdentity, index: history.exportIndex),
            logger: logger,
            onClose: { [weak self] session in
                _ = self?.sessions.withLock { $0.removeValue(forKey: ObjectIdentifier(session)) }
                self?.connectionEvents.add(1, ordering: .relaxed)
            })
        do {
            let channel = try TLSChannel.accept(descriptor: descriptor, context: context, loop: loop, delegate: session)
            session.attach(channel)
            sessions.withLock { $0[ObjectIdentifier(session)] = session }
            connectionEvents.add(1, ordering: .relaxed)
            channel.start()
        } catch {
            logger.error("cannot set up TLS for an accepted connection: \(error)")
        }
    }
}
