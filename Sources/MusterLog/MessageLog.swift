import Dispatch
import Foundation
import Synchronization

/// The durable, tamper-evident, segmented append-only log.
///
/// Appends go to one writer thread that batches whatever has queued up, writes it with one
/// `pwrite`, syncs once (group commit) and only then completes the appends, in offset order.
/// Readers (cursors) see records once they are durable. Opening the log scans it: a torn
/// tail (a last record whose bytes stop short) is cut off and reported; damage anywhere else,
/// a complete last record that does not check out included, refuses the open.
public final class MessageLog: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<AppendedRecord, LogError>) -> Void

    struct Catalog {
        var segments: [SegmentIndex]
        /// One past the last durable record.
        var nextOffset: UInt64
        var lastOffsetByDestination: [String: UInt64]
        var totalBytesByDestination: [String: Int]
        var observers: [UInt64: @Sendable (AppendedRecords) -> Void] = [:]
        var nextObserverID: UInt64 = 1
    }

    struct Request {
        let entry: LogEntry
        /// False: the record may complete once written; the next fdatasync (of a record that
        /// needs one, or within `LogWriter.lazySyncWindow`) makes it durable.
        let sync: Bool
        let sequence: (any AppendSequence)?
        let completion: Completion
    }

    struct Queue {
        var pending: [Request] = []
        /// How many of `pending` come from urgent sequences (they are at its front).
        var urgentPending = 0
        /// When the last urgent append was queued: for a while after it, batches are short.
        var lastUrgentAppend: ContinuousClock.Instant?
        /// Callers of `waitUntilDurable`, released after the next fdatasync.
        var durabilityWaiters: [DispatchSemaphore] = []
        var inFlight = 0
        /// When the oldest queued record without its own sync was queued (nil: none is). Such
        /// records do not wake the writer one by one: they ride on the next write, or the writer
        /// writes them `LogWriter.lazySyncWindow` after the first of them.
        var lazySince: ContinuousClock.Instant?
        /// When the sleeping writer's timer fires (nil: it sleeps until woken). A lazy record
        /// need not wake it when the timer fires within `LogWriter.lazySyncWindow` anyway.
        var writerWakesBy: ContinuousClock.Instant?
        var closed = false
        var failure: LogError?
    }

    public let options: LogOptions
    /// What recovery found and did when the log was opened.
    public let recovery: RecoveryReport
    let catalog: Mutex<Catalog>
    /// Where each destination's records are in the active segment.
    let activePositions: ActivePositions
    let positionCache = PositionListCache()
    let queue = Mutex(Queue())
    /// Held by whoever writes a batch: the writer thread, or a thread committing its own
    /// appends (`commitPending`). The writer's state belongs to the holder.
    /// Lock order: below a loop's ownership, above a workflow desk and the broker (MusterServer/LockOrder.swift).
    let commitLock = NSLock()
    let fdatasyncs = Atomic<Int>(0)
    /// How many times the writer has synced the log since it was opened.
    public var fdatasyncCount: Int { fdatasyncs.load(ordering: .relaxed) }
    let wake = DispatchSemaphore(value: 0)
    private let wakeSignals = Atomic<Int>(0)
    /// How many times the writer thread has been signalled (tests count the wake-ups saved).
    var writerWakeCount: Int { wakeSignals.load(ordering: .relaxed) }
    private let stopped = DispatchSemaphore(value: 0)
    private var writer: LogWriter?
    /// Held from `open` until `close` (LogDirectoryLock).
    private let directoryLock = Mutex<LogDirectoryLock?>(nil)

    /// Opens (or creates) the log under `options.dataDirectory`, recovering it first.
    /// Throws `.locked` when another process has the log open.
    public static func open(_ options: LogOptions, progress: @escaping (Int, Int) -> Void = { _, _ in }) throws(LogError) -> MessageLog {
        guard options.segmentBytes <= LogOptions.maximumSegmentBytes else {
            throw LogError.layout("segments may be at most \(LogOptions.maximumSegmentBytes) bytes, not \(options.segmentBytes)")
        }
        let lock = try LogDirectoryLock(logDirectory: options.logDirectory)
        let (scan, report) = try LogRecovery(options: options).recover(progress: progress)
        let log = MessageLog(options: options, scan: scan, report: report)
        log.directoryLock.withLock { $0 = lock }
        let writer = try LogWriter(log: log, scan: scan)
        log.writer = writer
        let thread = Thread { [log] in
            writer.run()
            log.stopped.signal()
        }
        thread.name = "muster-log-writer"
        thread.start()
        return log
    }

    private init(options: LogOptions, scan: ScanResult, report: RecoveryReport) {
        self.options = options
        self.recovery = report
        var totals: [String: Int] = [:]
        for segment in scan.segments {
            for (destination, bytes) in segment.destinationBytes { totals[destination, default: 0] += bytes }
        }
        let next = scan.segments.last?.endOffset ?? 0
        self.activePositions = ActivePositions(base: scan.segments.last?.baseOffset ?? 0, byDestination: scan.activePositions)
        self.catalog = Mutex(Catalog(segments: scan.segments, nextOffset: next,
                                     lastOffsetByDestination: scan.lastOffsetByDestination,
                                     totalBytesByDestination: totals))
    }

    /// Appends a record. `completion` runs once the record is durable (per the fsync policy),
    /// or with the reason it was not stored; completions run in offset order, on the thread that
    /// wrote the batch. With `sync` (the default) it completes once durable; without, once
    /// written: it rides on the next write and fdatasync, and is written at most
    /// `LogWriter.lazySyncWindow` after it was queued and synced at most that long after the
    /// previous fdatasync (delivery events, whose loss in a crash only means a redelivery).
    ///
    /// With `deferred`, the writer thread is not woken: the caller promises to call
    /// `commitPending()` soon (an event loop does, after the frames it read in one iteration).
    /// With a `sequence`, the record is not stored if an earlier append of it failed.
    public func append(_ entry: LogEntry, sync: Bool = true, deferred: Bool = false, sequence: (any AppendSequence)? = nil,
                       completion: @escaping Completion) {
        let (refusal, wakeWriter) = queue.withLock { queue -> (LogError?, Bool) in
            if queue.closed { return (.closed, false) }
            if let failure = queue.failure { return (failure, false) }
            let request = Request(entry: entry, sync: sync, sequence: sequence, completion: completion)
            if sequence?.isUrgent == true {
                queue.pending.insert(request, at: queue.urgentPending)
                queue.urgentPending += 1
                queue.lastUrgentAppend = .now
            } else {
                queue.pending.append(request)
            }
            if sync { return (nil, !deferred) }
            // Only the first lazy record wakes the writer, to set its timer, and only when the
            // timer it sleeps on would not fire in time (under steady traffic it is armed).
            guard queue.lazySince == nil else { return (nil, false) }
            let now = ContinuousClock.now
            queue.lazySince = now
            if let wakesBy = queue.writerWakesBy, wakesBy <= now + LogWriter.lazySyncWindow { return (nil, false) }
            return (nil, !deferred)
        }
        if let refusal {
            sequence?.markBroken()
            completion(.failure(refusal))
        } else if wakeWriter {
            signalWriter()
        }
    }

    /// Queued appends needing an fdatasync up to which `commitPending` commits on the calling thread.
    static let callerCommitLimit = 1
    /// Queued records (lazy ones included) up to which `commitPending` commits on the calling thread.
    static let callerBatchLimit = 16

    /// Writes (and syncs) a lone queued append on the calling thread, with its completion, when
    /// the writer thread is idle; otherwise leaves the queue to the writer. A publisher that waits for each
    /// receipt then gets it without two cross-thread wake-ups (tens of µs each on a virtual machine),
    /// and appends queued together still share one fdatasync. Returns whether it wrote here.
    @discardableResult
    public func commitPending() -> Bool {
        // A stream of appends (many per iteration) is better pipelined: the writer thread syncs
        // while the caller reads on. Only a lone append is committed here.
        let (syncing, queued, inFlight) = queue.withLock { queue in (queue.pending.count { $0.sync }, queue.pending.count, queue.inFlight) }
        // Lazy records alone wait for the writer's timer.
        if syncing == 0 { return false }
        guard syncing <= Self.callerCommitLimit, queued <= Self.callerBatchLimit, inFlight == 0, let writer, commitLock.try() else {
            signalWriter()
            return false
        }
        let closed = writer.drainQueue()
        let owesSync = writer.owesSync
        commitLock.unlock()
        // The writer thread winds down a closed log and syncs lazy records on its timers.
        if closed || owesSync { signalWriter() }
        return true
    }

    private func signalWriter() {
        wakeSignals.add(1, ordering: .relaxed)
        wake.signal()
    }

    /// Stops accepting appends, completes the queued ones, syncs and stops the writer.
    public func close() {
        let first = queue.withLock { queue -> Bool in
            defer { queue.closed = true }
            return !queue.closed
        }
        guard first else { return }
        signalWriter()
        stopped.wait()
        directoryLock.withLock { $0 = nil }
    }

    /// Returns once every record written so far is durable (after an fdatasync if one is owed).
    public func waitUntilDurable() {
        let waiter = DispatchSemaphore(value: 0)
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.closed else { return false }
            queue.durabilityWaiters.append(waiter)
            return true
        }
        guard accepted else { return }
        signalWriter()
        waiter.wait()
    }

    // MARK: Reading

    /// One past the last durable record: where a subscriber that wants only new records starts.
    public var nextOffset: UInt64 { catalog.withLock { $0.nextOffset } }

    /// The oldest offset still in the log (after retention).
    public var firstOffset: UInt64 { catalog.withLock { $0.segments.first?.baseOffset ?? 0 } }

    /// The last durable record's offset and chain hash, or nil for an empty log.
    public var head: LogHead? {
        catalog.withLock { catalog in
            guard let last = catalog.segments.last(where: { !$0.isEmpty }) else { return nil }
            return LogHead(offset: last.endOffset - 1, chain: last.lastChain)
        }
    }

    /// The offset of the newest durable record for a destination.
    public func lastOffset(for destination: String) -> UInt64? {
        catalog.withLock { $0.lastOffsetByDestination[destination] }
    }

    /// A reader starting at `offset` (clamped to the oldest record still kept).
    public func cursor(from offset: UInt64) -> LogCursor {
        LogCursor(log: self, offset: offset)
    }

    /// The first offset whose record is stamped at or after `timestamp` (ms), found through the
    /// sparse time index and a short read; `nextOffset` when every record is older.
    public func firstOffset(atOrAfter timestamp: Int64) throws(LogError) -> UInt64 {
        let found: (SegmentIndex, Int)? = catalog.withLock { catalog in
            guard let segment = catalog.segments.first(where: { ($0.lastTimestamp ?? .min) >= timestamp }) else { return nil }
            return (segment, segment.startPosition(forTimestamp: timestamp))
        }
        guard let (segment, position) = found else { return nextOffset }
        let reader: SegmentReader
        do throws(LogError) {
            reader = try SegmentReader(path: segment.path, fileName: segment.fileName, position: position)
        } catch {
            // Retention deleted the segment meanwhile: look again among those left.
            if case .io(_, _, ENOENT) = error, firstOffset > segment.baseOffset { return try firstOffset(atOrAfter: timestamp) }
            throw error
        }
        while true {
            switch try reader.next(limit: segment.size) {
            case .record(let record, _):
                if record.timestamp >= timestamp { return record.offset }
            case .end:
                return segment.endOffset
            case .bad(let position, let reason, _):
                throw LogError.corrupt(segment: segment.fileName, position: position, offset: nil, reason: reason, directory: options.dataDirectory)
            }
        }
    }

    /// When nothing is queued or being written: the earliest timestamp any future record can get.
    /// Nil while appends are in flight (their timestamps are not known yet).
    public func timestampFloor() -> Int64? {
        queue.withLock { queue in
            queue.pending.isEmpty && queue.inFlight == 0 ? options.clock() : nil
        }
    }

    /// Calls `observer` after each batch of records is written (on the thread that wrote it),
    /// with the new `nextOffset` and whether the batch held messages.
    public func observeAppends(_ observer: @escaping @Sendable (AppendedRecords) -> Void) -> UInt64 {
        catalog.withLock { catalog in
            let id = catalog.nextObserverID
            catalog.nextObserverID += 1
            catalog.observers[id] = observer
            return id
        }
    }

    public func removeObserver(_ id: UInt64) {
        _ = catalog.withLock { $0.observers.removeValue(forKey: id) }
    }

    /// The segment holding `offset` (or the first one after it) and the durable end, for cursors.
    func locate(_ offset: UInt64) -> (segment: SegmentIndex, isLast: Bool, nextOffset: UInt64)? {
        catalog.withLock { catalog in
            let segments = catalog.segments
            guard !segments.isEmpty else { return nil }
            var low = 0, high = segments.count
            while low < high {
                let middle = (low + high) / 2
                if segments[middle].baseOffset <= offset { low = middle + 1 } else { high = middle }
            }
            let index = max(low - 1, 0)
            return (segments[index], index == segments.count - 1, catalog.nextOffset)
        }
    }

    /// Total bytes of the segment files (for reports).
    public var totalBytes: Int { catalog.withLock { $0.segments.reduce(0) { $0 + $1.size } } }
}

/// What opening the log found.
public struct RecoveryReport: Sendable {
    public let records: Int
    public let segments: Int
    public let head: LogHead?
    /// A torn tail that was cut off (nil when the log ended cleanly).
    public let truncated: TornTail?
    /// A segment file left empty by a crash while rolling, which was removed.
    public let removedSegment: String?
    public let prunedHead: LogHead?
    /// Records read to open the log (those of sealed segments taken from their index files are not).
    public let recordsRead: Int
    /// Sealed segments taken from their index files without reading them.
    public let segmentsFromIndexes: Int
}
