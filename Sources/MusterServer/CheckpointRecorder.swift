import Dispatch
import Logging
import MusterBroker
import MusterFederation
import MusterLog
import MusterProtocol
import MusterStomp
import Synchronization

/// Signs the log's head into the log itself every `interval` (`log.checkpoint-interval`), when
/// anything was appended since the last one, and sends each to every federation peer (which
/// stores it in its own log): a later rewrite of this log is then provable from either log.
/// The record's body is the checkpoint's JSON (Schemas/log-format.md, "Signed checkpoints").
final class CheckpointRecorder: @unchecked Sendable {
    private let broker: Broker
    private let log: MessageLog
    private let identity: LogIdentity
    private let configuration: ServerConfiguration
    private let federation: FederationState
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    /// The offset of the last checkpoint record: a head there means nothing new since.
    private let lastRecord = Mutex<UInt64?>(nil)
    /// Made by `start`; `start` and `stop` are the server's, called one after the other.
    private var timer: (any DispatchSourceTimer)?

    init(broker: Broker, log: MessageLog, identity: LogIdentity, configuration: ServerConfiguration, federation: FederationState,
         clock: @escaping @Sendable () -> Int64, logger: Logger) {
        self.broker = broker
        self.log = log
        self.identity = identity
        self.configuration = configuration
        self.federation = federation
        self.clock = clock
        self.logger = logger
    }

    func start() {
        guard let interval = configuration.log.checkpointInterval else { return }
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "muster-checkpoints", qos: .utility))
        let nanoseconds = Int(interval) * 1_000_000
        source.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds), leeway: .nanoseconds(nanoseconds / 20))
        source.setEventHandler { [weak self] in self?.record() }
        source.resume()
        timer = source
    }

    func stop() {
        timer?.cancel()
    }

    /// Signs the head now and appends the checkpoint (nothing when the head is the last checkpoint's own record).
    func record() {
        guard let head = log.head, lastRecord.withLock({ $0 }) != head.offset else { return }
        let checkpoint: LogCheckpoint
        do {
            checkpoint = try LogCheckpoint.sign(logID: identity.logID, jurisdiction: identity.jurisdiction, offset: head.offset, chain: head.chain.hex,
                                                time: clock(), certificateFile: configuration.certificatePath, privateKeyFile: configuration.privateKeyPath)
        } catch {
            return logger.warning("cannot sign a log checkpoint (log.checkpoint-interval): \(error)")
        }
        var headers = StompHeaders()
        headers[CheckpointHeader.logID] = checkpoint.logID
        headers[CheckpointHeader.head] = "\(head)"
        headers["content-type"] = "application/json;charset=utf-8"
        let peers = federation.rules.peers.map(\.jurisdiction)
        if !peers.isEmpty { headers[FederationHeader.export] = peers.joined(separator: ",") }
        let publication = Publication(destination: CheckpointHeader.destination, headers: headers, body: checkpoint.json, sender: configuration.brokerIdentity)
        broker.publishAsBroker(publication) { [self] result in
            switch result {
            case .success(let stored):
                lastRecord.withLock { $0 = max($0 ?? 0, stored.offset) }
                logger.info("log checkpoint signed", metadata: ["head": "\(head)", "record": "\(stored.offset)", "peers": "\(peers.joined(separator: ","))"])
            case .failure(let error):
                logger.warning("cannot record a log checkpoint: \(error)")
            }
        }
    }
}
