import Dispatch
import Foundation
import Logging
import MusterLog
import Synchronization

/// Keeps the workflow snapshot near the log's end, so that a restart reads only a short tail.
/// It follows the log with a replica of the workflow state (not the desk's live state, which
/// runs ahead of the log while appends are in flight): every `period` it reads on for at most
/// `periodicBudget` (a small, bounded share of a core however busy the broker is) and writes a
/// snapshot when it moved at least `minimumRecords`; at a clean stop it reads on for at most
/// `stopBudget` and writes one if it moved at all (a restart then reads nothing more).
final class WorkflowSnapshotter: @unchecked Sendable {
    private struct Replica {
        var state: WorkflowRecovery
        /// The replica took every record before this offset.
        var through: UInt64
        /// Where the last snapshot written (or loaded) stands.
        var saved: UInt64?
    }

    static let period = Duration.seconds(60)
    static let periodicBudget = Duration.seconds(1)
    static let stopBudget = Duration.seconds(5)
    static let minimumRecords: UInt64 = 10_000

    private let log: MessageLog
    private let dataDirectory: String
    private let logger: Logger
    /// Held while the replica reads the log and writes the file; nothing else is taken under it
    /// but the log's own locks, briefly, by its cursor (MusterServer/LockOrder.swift).
    private let replica: Mutex<Replica>
    /// Made by `start` (a dispatch source released before it was resumed traps); `start` and
    /// `stop` are the server's, called one after the other.
    private var timer: (any DispatchSourceTimer)?

    init(log: MessageLog, dataDirectory: String, logger: Logger, restored: WorkflowRestore) {
        self.log = log
        self.dataDirectory = dataDirectory
        self.logger = logger
        self.replica = Mutex(Replica(state: restored.state, through: restored.through, saved: restored.snapshotThrough))
    }

    func start() {
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "muster-workflow-snapshot", qos: .utility))
        let nanoseconds = Int(Self.period / .nanoseconds(1))
        // The first look is at once: a broker that has no snapshot yet, or read a long tail, writes one.
        source.schedule(deadline: .now(), repeating: .nanoseconds(nanoseconds), leeway: .nanoseconds(nanoseconds / 10))
        source.setEventHandler { [weak self] in self?.refresh(budget: Self.periodicBudget, minimum: Self.minimumRecords) }
        source.resume()
        timer = source
    }

    /// Called once the log holds everything (before it closes).
    func stop() {
        timer?.cancel()
        refresh(budget: Self.stopBudget, minimum: 1)
    }

    /// The state as of the log's end now (for the desk to start again from after a failed
    /// append): the replica, read on to the end.
    func current() throws(LogError) -> WorkflowRecovery {
        try replica.withLock { replica throws(LogError) in
            try follow(&replica, until: nil)
            return replica.state
        }
    }

    /// Reads on from where the replica stands, for at most `budget`, and writes a snapshot if it
    /// moved at least `minimum` records since the last one (or there is none).
    func refresh(budget: Duration, minimum: UInt64) {
        replica.withLock { replica in
            do throws(LogError) {
                try follow(&replica, until: .now + budget)
            } catch {
                logger.warning("workflow snapshot: reading the log: \(error)")
                return
            }
            if let saved = replica.saved, replica.through < saved + minimum { return }
            save(&replica)
        }
    }

    /// Reads on from where the replica stands. If retention deleted records before the replica
    /// read them, it starts again from the log's first record (a state lacking records must not
    /// become a snapshot).
    private func follow(_ replica: inout Replica, until deadline: ContinuousClock.Instant?) throws(LogError) {
        let (next, skipped) = try replica.state.read(log, from: replica.through, until: deadline)
        replica.through = next
        guard skipped else { return }
        logger.notice("workflow snapshot: retention deleted records before they were read; reading the workflows again from the log's first record")
        replica.state = WorkflowRecovery()
        replica.through = try replica.state.read(log, from: log.firstOffset, until: deadline).next
        replica.saved = nil
    }

    private func save(_ replica: inout Replica) {
        let started = ContinuousClock.now
        var chain = ""
        if replica.through > 0, let record = try? log.cursor(from: replica.through - 1).next(maxRecords: 1).first, record.offset == replica.through - 1 {
            chain = record.chain.hex
        } else if replica.through > 0 {
            return  // its last record is gone (retention) or unreadable: the snapshot could not be checked later
        }
        do {
            try WorkflowSnapshot(through: replica.through, chain: chain, state: replica.state).save(in: dataDirectory)
            replica.saved = replica.through
            logger.info("workflow snapshot written", metadata: [
                "through": "\(replica.through)", "summonses": "\(replica.state.book.summonses.count)",
                "seconds": "\(Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000)",
            ])
        } catch {
            logger.warning("workflow snapshot not written (the next start reads more of the log): \(error)")
        }
    }
}

/// The workflow state at start: from the snapshot (when one checks out) and the log after it.
struct WorkflowRestore {
    var state: WorkflowRecovery
    /// The state took every record before this offset (the log's end at start).
    var through: UInt64
    /// Where the snapshot used stood (nil: none was used).
    var snapshotThrough: UInt64?
    /// Why a snapshot found was not used.
    var problem: SnapshotProblem?
    /// Records read from the log now.
    var recordsRead: Int

    /// `alsoVisit` sees every record read (start-up reads the log once for everything rebuilt from it).
    static func read(_ log: MessageLog, dataDirectory: String, alsoVisit: (LogRecord) -> Void) throws(LogError) -> WorkflowRestore {
        var state = WorkflowRecovery()
        var from = log.firstOffset
        var snapshotThrough: UInt64?
        var problem: SnapshotProblem?
        switch WorkflowSnapshot.load(from: dataDirectory, log: log) {
        case .success(let snapshot)?:
            state = snapshot.state
            from = snapshot.through
            snapshotThrough = snapshot.through
        case .failure(let found)?:
            problem = found
        case nil:
            break
        }
        let before = state.recordsRead
        let through = try state.read(log, from: from, alsoVisit: alsoVisit).next
        return WorkflowRestore(state: state, through: through, snapshotThrough: snapshotThrough, problem: problem,
                               recordsRead: state.recordsRead - before)
    }
}
