import Foundation
import Logging
public import MusterBroker
public import MusterNet
import MusterFederation
import MusterLog
import MusterProtocol
import MusterStomp
public import MusterWeb
public import MusterWorkflow
import Synchronization

/// The broker as the board sees it. A certificate is admitted as a STOMP connection's is (the
/// same policy check, the same refusal records); a form's message goes down the same path as
/// a SEND (`Broker.publish`: policy, workflow desk, log, fsync before the answer); what a party
/// sees is what the workflow queries would show it.
public final class BoardDesk: BoardSource, @unchecked Sendable {
    private let broker: Broker
    private let policy: PolicyGate
    private let desk: WorkflowDesk
    private let log: MessageLog
    private let identity: LogIdentity
    private let links: @Sendable () -> [LinkStatus]
    private let logger: Logger
    /// How many closed summonses (and rated hand-offs) the board lists below the open ones.
    static let finishedCasesShown = 20
    /// The exposition of the metrics registry, when the broker keeps metrics (set once by the serve command).
    private let exposition = Mutex<(@Sendable () -> [UInt8])?>(nil)

    init(broker: Broker, policy: PolicyGate, desk: WorkflowDesk, log: MessageLog, identity: LogIdentity,
         links: @escaping @Sendable () -> [LinkStatus], logger: Logger) {
        self.broker = broker
        self.policy = policy
        self.desk = desk
        self.log = log
        self.identity = identity
        self.links = links
        self.logger = logger
    }

    /// Serves `/metrics` to monitors from `emit` (the registry's exposition, gauges refreshed).
    public func serveMetrics(_ emit: @escaping @Sendable () -> [UInt8]) {
        exposition.withLock { $0 = emit }
    }

    public func metrics() -> [UInt8]? {
        exposition.withLock { $0 }?()
    }

    public func admit(_ certificate: PeerCertificate?, source: String) -> Result<BoardViewer, BoardRefusal> {
        // Broker certificates are not parties: the board admits none (no federation state is passed).
        switch ConnectionAdmission.admit(certificate, from: ConnectionAdmission.host(of: source), policy: policy, listener: .board) {
        case .success(let credentials):
            guard let party = policy.policy.parties[credentials.identity] else {
                return .failure(BoardRefusal(code: ErrorCode.identityRefused.rawValue, message: "\(credentials.identity) is not in the parties file"))
            }
            return .success(BoardViewer(party: party.identity.party, jurisdiction: party.identity.jurisdiction,
                                        name: party.name.isEmpty ? party.identity.party : party.name, kind: party.kind.rawValue))
        case .failure(let error):
            return .failure(BoardRefusal(code: error.code.rawValue, message: error.message))
        }
    }

    public func handshakeFailed(_ error: TLSHandshakeError) {
        logger.info("board connection refused at the TLS handshake: \(error.reason)", metadata: ["peer": "\(error.peer)"])
        ConnectionAdmission.recordHandshakeRefusal(error, policy: policy)
    }

    public var now: Int64 { desk.now }

    public func summonses(for viewer: BoardViewer) -> [SummonsView] {
        let party = PartyIdentity(jurisdiction: viewer.jurisdiction, party: viewer.party)
        let now = desk.now
        return desk.read { book, deliveries in
            let visible = WorkflowQueryAnswer.visibleSummonses(book, to: party, overseer: viewer.oversees)
            // The board shows every open summons and the latest closed ones, not years of history.
            let closed = visible.filter { $0.state != "open" }.suffix(Self.finishedCasesShown)
            let shownClosed = Set(closed.map(\.id))
            return visible.filter { $0.state == "open" || shownClosed.contains($0.id) }.map { SummonsView($0, deliveries: deliveries, now: now) }
        }
    }

    public func handoffs(for viewer: BoardViewer) -> [HandoffView] {
        let party = PartyIdentity(jurisdiction: viewer.jurisdiction, party: viewer.party)
        let now = desk.now
        return desk.read { book, deliveries in
            let visible = WorkflowQueryAnswer.visibleHandoffs(book, to: party, overseer: viewer.oversees)
            // Rated ones are finished: only the latest few (a completed one still awaits its rating, a rejected one a transfer).
            let isFinished = { (handoff: HandoffCase) in handoff.state == "rated" }
            let shownFinished = Set(visible.filter(isFinished).suffix(Self.finishedCasesShown).map(\.id))
            return visible.filter { !isFinished($0) || shownFinished.contains($0.id) }.map { HandoffView($0, deliveries: deliveries, now: now) }
        }
    }

    public func parties() -> [(identity: String, name: String)] {
        policy.policy.parties.values.filter { $0.kind != .monitor }
            .sorted { ($0.identity.jurisdiction, $0.identity.party) < ($1.identity.jurisdiction, $1.identity.party) }
            .map { ($0.identity.party, $0.name.isEmpty ? $0.identity.party : $0.name) }
    }

    public func assessment() -> Assessment {
        let now = desk.now
        return desk.read { book, _ in Assessment(book: book, from: 0, to: .max, jurisdiction: nil, now: now) }
    }

    public func audit() -> AuditView {
        let pending = broker.inspect { $0.pending() }.filter { $0.state == .delivered }
        var byParty: [String: (count: Int, oldest: Int64)] = [:]
        for delivery in pending {
            let key = "\(delivery.party?.description ?? "–")\u{0}\(delivery.destination)"
            let entry = byParty[key] ?? (0, .max)
            byParty[key] = (entry.count + 1, min(entry.oldest, delivery.since))
        }
        let pendingRows = byParty.sorted { $0.key < $1.key }.map { key, entry in
            let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            return AuditView.PendingRow(party: parts[0], destination: parts.count > 1 ? parts[1] : "", count: entry.count, oldestSince: entry.oldest)
        }
        let refusals = policy.refusalCountsByRule.sorted { ($0.key.rule, $0.key.code.rawValue) < ($1.key.rule, $1.key.code.rawValue) }
            .map { AuditView.RefusalRow(rule: $0.key.rule, code: $0.key.code.rawValue, count: $0.value) }
        let linkRows = links().map {
            AuditView.LinkRow(peer: $0.peer, lane: $0.lane.rawValue, state: $0.state.rawValue, backlogRecords: $0.backlogRecords,
                              lagSeconds: $0.lagSeconds, lastError: $0.lastError)
        }
        return AuditView(logID: identity.logID, jurisdiction: identity.jurisdiction, head: log.head?.description, nextOffset: log.nextOffset,
                         verification: verification, pending: pendingRows, refusals: refusals, links: linkRows)
    }

    /// How the log was checked when the broker opened it.
    private var verification: String {
        let report = log.recovery
        var text = log.options.verifyAll
            ? "every record's checksum and hash chain verified at start (\(report.records) records, \(report.segments) segments)"
            : "the chain verified at start from each sealed segment's index and the open segment's records (\(report.recordsRead) read); `muster log verify` checks every record"
        if let torn = report.truncated { text += "; a torn tail was cut off at start: \(torn)" }
        return text
    }

    public func submit(_ submission: WorkflowSubmission, by viewer: BoardViewer, completion: @escaping @Sendable (Result<String, BoardRefusal>) -> Void) {
        let destination: Destination
        do { destination = try Destination(parsing: submission.destination) } catch {
            return completion(.failure(BoardRefusal(code: error.code.rawValue, message: error.message)))
        }
        var headers = StompHeaders()
        headers[ReservedHeader.type] = submission.type
        headers["content-type"] = "application/json;charset=utf-8"
        if let publishID = submission.publishID { headers[PublishHeader.id] = publishID }
        let sender = PartyIdentity(jurisdiction: viewer.jurisdiction, party: viewer.party)
        let publication = Publication(destination: destination, headers: headers, body: submission.body, sender: sender)
        broker.publish(publication) { [logger] result in
            switch result {
            case .success(let stored):
                completion(.success(stored.publication.headers[WorkflowHeader.id] ?? ""))
            case .failure(let error):
                logger.notice("board: refused \(sender)'s \(submission.type): \(error)")
                completion(.failure(BoardRefusal(code: error.code.rawValue, message: error.message)))
            }
        }
    }
}
