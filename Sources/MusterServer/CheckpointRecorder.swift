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
    private let logger: Logger
    /// The head the last checkpoint signed: only what was appended after it may call for another.
    private let lastSigned = Mutex<UInt64?>(nil)
    /// Made by `start`; `start` and `stop` are the server's, called one after the other.
    private var timer: (any DispatchSourceTimer)?

    init(broker: Broker, log: MessageLog, identity: LogIdentity, configuration: ServerConfiguration, federation: FederationState, logger: Logger) {
        self.broker = broker
        self.log = log
        self.identity = identity
        self.configuration = configuration
        self.federation = federation
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

    /// Records that are the federation's own bookkeeping: checkpoints (ours and our peers'), link
    /// events and gap records, and delivery records.
    static func isBookkeeping(_ record: LogRecord) -> Bool {
        record.kind != .message || [CheckpointHeader.destination.description, FederationHeader.linkEventsDestination.description,
                                    FederationHeader.exportGapDestination.description].contains(record.destination)
    }

    /// Whether a record other than bookkeeping lies after the last signed head, up to `head` (read
    /// from the log, on this timer's queue; it stops at the first one).
    private func movedSinceLastCheckpoint(head: UInt64) -> Bool {
        guard let signed = lastSigned.withLock({ $0 }) else { return true }
        guard head > signed else { return false }
        let cursor = log.cursor(from: signed + 1)
        do {
            while true {
                let records = try cursor.next(maxRecords: 256)
                if records.isEmpty { return false }
                if records.contains(where: { !Self.isBookkeeping($0) }) { return true }
            }
        } catch {
            logger.warning("cannot read the log for a checkpoint: \(error)")
            return false
        }
    }

    func stop() {
        timer?.cancel()
    }

    /// Signs the head now and appends the checkpoint, when a record other than the links' own
    /// bookkeeping was appended since the last one: two linked brokers with nothing to say do not
    /// keep signing each other's checkpoints and acknowledgements.
    func record() {
        guard let head = log.head, movedSinceLastCheckpoint(head: head.offset) else { return }
        signAndRecord(head) { result in
            if case .failure(let error) = result { self.logger.warning("cannot sign a log checkpoint (log.checkpoint-interval): \(error.message)") }
        }
    }

    /// Signs the head now, whether it moved or not (an auditor asks), records the checkpoint in
    /// the log (and sends it to the peers), and completes once it is stored.
    func recordNow(completion: @escaping @Sendable (Result<LogCheckpoint, BrokerError>) -> Void) {
        guard let head = log.head else { return completion(.failure(BrokerError(.storageFailure, "the log is empty: there is no head to sign"))) }
        signAndRecord(head, completion: completion)
    }

    private func signAndRecord(_ head: LogHead, completion: @escaping @Sendable (Result<LogCheckpoint, BrokerError>) -> Void) {
        let checkpoint: LogCheckpoint
        do {
            checkpoint = try LogCheckpoint.sign(logID: identity.logID, jurisdiction: identity.jurisdiction, offset: head.offset, chain: head.chain.hex,
                                                time: WallClock.milliseconds(), certificateFile: configuration.certificatePath, privateKeyFile: configuration.privateKeyPath)
        } catch {
            return completion(.failure(BrokerError(.storageFailure, "cannot sign the log's head: \(error)")))
        }
        var headers = StompHeaders()
        headers[CheckpointHeader.logID] = checkpoint.logID
        headers[CheckpointHeader.head] = "\(head)"
        headers["content-type"] = "application/json;charset=utf-8"
        let peers = federation.rules.peers.map(\.jurisdiction)
        if !peers.isEmpty { headers[FederationHeader.export] = peers.joined(separator: ",") }
        let publication = Publication(destination: CheckpointHeader.destination, headers: headers, body: checkpoint.json, sender: configuration.brokerIdentity)
        lastSigned.withLock { $0 = max($0 ?? 0, head.offset) }
        broker.publishAsBroker(publication) { [logger] result in
            switch result {
            case .success(let stored):
                logger.info("log checkpoint signed", metadata: ["head": "\(head)", "record": "\(stored.offset)", "peers": "\(peers.joined(separator: ","))"])
                completion(.success(checkpoint))
            case .failure(let error):
                completion(.failure(BrokerError(error.code, "cannot record the checkpoint: \(error.message)")))
            }
        }
    }
}
