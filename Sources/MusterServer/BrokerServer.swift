import Foundation
public import Logging
public import MusterBroker
public import MusterLog
public import MusterNet
import Synchronization

/// The running broker: TLS listener, event loops, sessions and the broker core.
public final class BrokerServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let broker: Broker
    /// The durable log every accepted message is written to before its RECEIPT.
    public let log: MessageLog
    private let logger: Logger
    private var group: EventLoopGroup?
    private var listener: TCPListener?
    private var context: TLSContext?
    private let sessions = Mutex<[ObjectIdentifier: ServerSession]>([:])
    private let pump: ConsumerPump

    /// Opens (and recovers) the log and rebuilds the queues and durable subscriptions; throws
    /// `LogError` when the log is damaged or cannot be opened, `ConfigurationError` when the
    /// consumer registry cannot be read.
    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
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
        logger.info("log verified", metadata: [
            "records": "\(report.records)", "segments": "\(report.segments)",
            "head": "\(report.head.map { "\($0)" } ?? "empty")",
            "seconds": "\(Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000)",
        ])
        self.log = log
        let registry = ConsumerRegistry(dataDirectory: configuration.dataDirectory)
        let rebuilt = try ConsumerRecovery(registry: try registry.load(), log: log, rules: configuration.delivery)
        logger.info("consumers rebuilt", metadata: [
            "consumers": "\(rebuilt.consumers.count)", "records-read": "\(rebuilt.recordsRead)",
            "awaiting-redelivery": "\(rebuilt.consumers.reduce(0) { $0 + $1.state.waitingCount })",
        ])
        let store = LogMessageStore(log: log)
        self.broker = Broker(store: store, rules: configuration.delivery, restored: rebuilt.consumers)
        self.pump = ConsumerPump(broker: broker, registry: registry, logger: logger)
        broker.onReadFailure { [logger] name, error in logger.error("consumer \(name) cannot read the log: \(error)") }
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
                accept(descriptor, context: context, loop: group.next())
            })
        } catch {
            group.shutdown()
            throw error
        }
        self.context = context
        self.group = group
        self.listener = listener
        pump.start()
        let bound = SocketAddress(host: configuration.listen.host, port: listener.boundPort)
        logger.info("listening", metadata: ["address": "\(bound)", "loops": "\(group.loops.count)",
                                            "tls-min": "\(configuration.minimumTLSVersion.rawValue)"])
        return bound
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
        group?.shutdown()
        pump.stop()
        log.close()
        logger.info("stopped")
    }

    private func accept(_ descriptor: Int32, context: TLSContext, loop: EventLoop) {
        let session = ServerSession(
            broker: broker, log: log, consumers: pump, limits: configuration.limits, settings: configuration.session,
            heartbeatTolerance: configuration.heartbeatTolerance, logger: logger,
            onClose: { [weak self] session in _ = self?.sessions.withLock { $0.removeValue(forKey: ObjectIdentifier(session)) } })
        do {
            let channel = try TLSChannel.accept(descriptor: descriptor, context: context, loop: loop, delegate: session)
            session.attach(channel)
            sessions.withLock { $0[ObjectIdentifier(session)] = session }
            channel.start()
        } catch {
            logger.error("cannot set up TLS for an accepted connection: \(error)")
        }
    }
}
