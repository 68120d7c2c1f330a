import CoreMetrics
import Dispatch
import Glibc

/// The log's writer thread: takes the appends that have queued up (at most `batchLimit`),
/// encodes them, writes them with one `pwrite`, syncs once, publishes them to readers and
/// completes them in order.
/// All state here belongs to that one thread.
final class LogWriter: @unchecked Sendable {
    /// Where the chain stands: the next offset, the last chain hash and timestamp.
    struct ChainState {
        var nextOffset: UInt64
        var lastChain: ChainHash
        var lastTimestamp: Int64
    }

    /// A record encoded in the current chunk, waiting for its write and sync.
    struct Placed {
        let request: MessageLog.Request
        let appended: AppendedRecord
        let position: Int
        let size: Int
    }

    unowned let log: MessageLog
    private let directory: String
    /// The active segment's base offset (its index lives in the catalog, changed in place).
    private var segmentBase: UInt64
    private var file: LogFile
    private var position: Int
    /// The active segment file's size: `position` plus preallocated, zero-filled space.
    private var allocatedEnd: Int
    /// Set when the file system refused to preallocate; writes then just extend the file.
    private var preallocationRefused = false
    /// How far ahead of the write position the active segment is preallocated.
    static let preallocationStep = 4 << 20
    private var state: ChainState
    private var unsynced = false
    private var lastSync = ContinuousClock.now
    private var lastRetention = ContinuousClock.now
    private static let retentionPeriod = Duration.seconds(30)

    init(log: MessageLog, scan: ScanResult) throws(LogError) {
        self.log = log
        self.directory = log.options.logDirectory
        let active = log.catalog.withLock { $0.segments.last! }
        self.segmentBase = active.baseOffset
        self.file = try LogFile(path: active.path, flags: O_RDWR)
        self.position = active.size
        self.allocatedEnd = (try? file.size) ?? active.size
        var lastTimestamp = Int64.min
        for segment in scan.segments.reversed() {
            if let last = segment.lastTimestamp { lastTimestamp = last; break }
        }
        // A segment is created after every record before it, so its creation time is a floor too
        // (it matters when retention pruned every segment that had records).
        lastTimestamp = max(lastTimestamp, active.header.created)
        self.state = ChainState(nextOffset: active.endOffset, lastChain: active.lastChain, lastTimestamp: lastTimestamp)
    }

    func run() {
        log.commitLock.withLock { applyRetention() }
        while true {
            if let timeout = log.commitLock.withLock({ nextTimeout() }) {
                _ = log.wake.wait(timeout: .now() + .nanoseconds(Int(max(timeout, .zero) / .nanoseconds(1))))
            } else {
                log.wake.wait()
            }
            let finished = log.commitLock.withLock { () -> Bool in
                if queueIsDue(), drainQueue() {
                    releasePreallocation()
                    if unsynced { syncNow() }
                    return true
                }
                if unsynced, ContinuousClock.now - lastSync >= syncWindow {
                    syncNow()
                }
                if ContinuousClock.now - lastRetention >= Self.retentionPeriod { applyRetention() }
                return false
            }
            if finished { return }
        }
    }

    /// Writes every queued append, batch after batch, and releases `waitUntilDurable` callers;
    /// true once the log is closed and nothing is left. The caller holds `log.commitLock`:
    /// this runs on the writer thread, or on a thread that commits what it appended itself
    /// (`MessageLog.commitPending`).
    func drainQueue() -> Bool {
        while true {
            let (batch, closed, waiters) = log.queue.withLock { queue in
                // At most `batchLimit` at a time: an urgent append queued meanwhile waits for one
                // bounded batch (its fdatasync and completions), not for a whole backlog's; and
                // while urgent appends come, a short one.
                let urgentLately = queue.lastUrgentAppend.map { ContinuousClock.now - $0 < log.options.urgentBatchWindow } ?? false
                let count = min(queue.pending.count, urgentLately ? Self.urgentBatchLimit : Self.batchLimit)
                let batch = Array(queue.pending.prefix(count))
                queue.lazySince = nil
                let waiters = batch.isEmpty ? queue.durabilityWaiters : []
                if batch.isEmpty { queue.durabilityWaiters = [] }
                queue.pending.removeFirst(count)
                queue.urgentPending = max(0, queue.urgentPending - count)
                queue.inFlight = batch.count
                return (batch, queue.closed, waiters)
            }
            if !waiters.isEmpty {
                if unsynced { syncNow() }
                for waiter in waiters { waiter.signal() }
            }
            if batch.isEmpty { return closed }
            process(batch)
            log.queue.withLock { $0.inFlight = 0 }
        }
    }

    /// The most records written (and fdatasynced) as one batch.
    static let batchLimit = 1024
    /// The most in a batch for `LogOptions.urgentBatchWindow` after an urgent append was queued:
    /// the next urgent append then waits for at most this many others' write, fdatasync and
    /// completions. More fdatasyncs cost throughput (a 300,000-record federation catch-up ran
    /// about a quarter slower with batches of 32), so only while urgent records flow.
    static let urgentBatchLimit = 32

    /// Whether records are written but not yet synced (the writer thread's timers sync them).
    var owesSync: Bool { unsynced }

    /// Records written without their own fdatasync (`sync: false`) are synced at most this long
    /// after the previous fdatasync, if no record that needs one comes first.
    static let lazySyncWindow = Duration.milliseconds(20)

    /// How long unsynced records may wait for an fdatasync.
    private var syncWindow: Duration {
        switch log.options.fsync {
        case .always: return Self.lazySyncWindow
        case .interval(let milliseconds): return .milliseconds(milliseconds)
        }
    }

    /// Whether the queue needs writing now: a record that needs its fdatasync, a waiter, closing,
    /// or lazy records that have waited their window (alone, they wait to ride on a write).
    private func queueIsDue() -> Bool {
        log.queue.withLock { queue in
            if queue.closed || !queue.durabilityWaiters.isEmpty || queue.pending.contains(where: \.sync) { return true }
            guard let since = queue.lazySince else { return false }
            return ContinuousClock.now - since >= Self.lazySyncWindow
        }
    }

    /// How long to sleep before there is something to do without being woken. Records when the
    /// timer fires (`Queue.writerWakesBy`) in the same critical section that reads `lazySince`:
    /// a lazy record queued after this either is counted here or sees the timer it can rely on.
    private func nextTimeout() -> Duration? {
        let now = ContinuousClock.now
        var timeout: Duration?
        if unsynced {
            timeout = lastSync + syncWindow - now
        }
        if !log.options.retention.isEmpty {
            let untilRetention = lastRetention + Self.retentionPeriod - now
            timeout = min(timeout ?? untilRetention, untilRetention)
        }
        return log.queue.withLock { queue in
            if let since = queue.lazySince {
                let untilLazyWrite = since + Self.lazySyncWindow - now
                timeout = min(timeout ?? untilLazyWrite, untilLazyWrite)
            }
            queue.writerWakesBy = timeout.map { now + $0 }
            return timeout
        }
    }

    // MARK: Batches

    private func process(_ batch: [MessageLog.Request]) {
        if let failure = log.queue.withLock({ $0.failure }) {
            fail(batch[...], failure)
            return
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(batch.reduce(0) { $0 + $1.entry.body.count + 256 })
        var placed: [Placed] = []
        var chunkStart = state
        for (index, request) in batch.enumerated() {
            if let sequence = request.sequence, sequence.isBroken {
                // An earlier append of its sequence failed (or one queued with it was refused as
                // the log closed): this one must not be stored past it.
                request.completion(.failure(.sequenceBroken))
                continue
            }
            let recordStart = buffer.count
            let timestamp = max(log.options.clock(), state.lastTimestamp)
            let chain = RecordFormat.encode(request.entry, offset: state.nextOffset, timestamp: timestamp,
                                            previous: state.lastChain, into: &buffer)
            var start = recordStart
            let segmentHasRecords = position + recordStart > SegmentHeader.size
            if position + buffer.count > log.options.segmentBytes && segmentHasRecords {
                let record = Array(buffer[recordStart...])
                buffer.removeSubrange(recordStart...)
                if !placed.isEmpty {
                    guard commit(buffer, placed, rewindTo: chunkStart) else { fail(batch[index...], currentFailure()); return }
                }
                do throws(LogError) {
                    try roll()
                } catch {
                    fail(batch[index...], error)
                    return
                }
                buffer = record
                placed = []
                chunkStart = state
                start = 0
            }
            let appended = AppendedRecord(offset: state.nextOffset, timestamp: timestamp, chain: chain)
            placed.append(Placed(request: request, appended: appended, position: position + start, size: buffer.count - start))
            state = ChainState(nextOffset: state.nextOffset + 1, lastChain: chain, lastTimestamp: timestamp)
        }
        if !placed.isEmpty, !commit(buffer, placed, rewindTo: chunkStart) {
            return
        }
    }

    /// Writes and (per policy) syncs one chunk, then publishes and completes its records.
    /// On failure the chunk's records fail, the file and chain go back to `chunkStart`.
    private func commit(_ buffer: [UInt8], _ placed: [Placed], rewindTo chunkStart: ChainState) -> Bool {
        let start = position
        preallocate(through: start + buffer.count)
        do throws(LogError) {
            try file.write(buffer, at: start)
        } catch {
            try? file.truncate(to: start)
            allocatedEnd = start
            state = chunkStart
            fail(placed.map(\.request)[...], error)
            return false
        }
        position += buffer.count
        if log.options.fsync == .always, placed.contains(where: \.request.sync) {
            do {
                try syncFile()
            } catch {
                // After a failed fsync the page cache can no longer be trusted (the kernel may
                // have dropped the dirty pages): stop accepting until a restart recovers from disk.
                try? file.truncate(to: start)
                allocatedEnd = start
                position = start
                state = chunkStart
                let failure = LogError.unavailable(reason: error.description)
                log.queue.withLock { $0.failure = failure }
                fail(placed.map(\.request)[...], failure)
                return false
            }
            // The whole file is synced: earlier records written without their own sync too.
            unsynced = false
            lastSync = .now
        } else {
            unsynced = true
        }
        log.activePositions.add(placed.lazy.map { (PositionKey.of($0.request.entry.kind, destination: $0.request.entry.destination), $0.appended.offset, $0.position) },
                                base: segmentBase)
        let (observers, next) = log.catalog.withLock { catalog in
            // In place: a copy of the segment's index kept here would be copied whole on the next change.
            let active = catalog.segments.count - 1
            for record in placed {
                catalog.segments[active].add(offset: record.appended.offset, timestamp: record.appended.timestamp, chain: record.appended.chain,
                                             destination: record.request.entry.destination, position: record.position, size: record.size)
            }
            catalog.nextOffset = state.nextOffset
            for record in placed {
                catalog.lastOffsetByDestination[record.request.entry.destination] = record.appended.offset
                catalog.totalBytesByDestination[record.request.entry.destination, default: 0] += record.size
            }
            return (Array(catalog.observers.values), catalog.nextOffset)
        }
        for record in placed { record.request.completion(.success(record.appended)) }
        let appended = AppendedRecords(nextOffset: next, containsMessages: placed.contains { $0.request.entry.kind == .message })
        for observer in observers { observer(appended) }
        return true
    }

    /// Seals the active segment (synced whatever the policy) and starts the next one.
    private func roll() throws(LogError) {
        do throws(LogError) {
            // A sealed segment ends at its last record: only the active one has preallocated space.
            if allocatedEnd > position { try file.truncate(to: position) }
            try syncFile()
        } catch {
            let failure = LogError.unavailable(reason: error.description)
            log.queue.withLock { $0.failure = failure }
            throw failure
        }
        unsynced = false
        lastSync = .now
        writeIndexOfSealedSegment()
        let header = SegmentHeader(baseOffset: state.nextOffset, created: log.options.clock(), previousChain: state.lastChain)
        let next = try LogRecovery.createSegment(header, in: directory)
        file = try LogFile(path: next.path, flags: O_RDWR)
        segmentBase = next.baseOffset
        log.activePositions.reset(base: next.baseOffset)
        position = SegmentHeader.size
        allocatedEnd = SegmentHeader.size
        preallocationRefused = false
        log.catalog.withLock { $0.segments.append(next) }
        applyRetention()
    }

    /// Writes the index file of the segment just sealed, so that start-up need not read it and
    /// replays of one destination read only its records. Best effort: without it, start-up
    /// scans the segment (and writes the file then), and readers read the segment through.
    private func writeIndexOfSealedSegment() {
        guard let sealed = log.catalog.withLock({ $0.segments.last }), sealed.baseOffset == segmentBase else { return }
        do throws(LogError) {
            let lists = try SegmentIndexFile.write(sealed, positions: log.activePositions.lists(base: segmentBase))
            log.catalog.withLock { catalog in
                guard catalog.segments.last?.baseOffset == sealed.baseOffset else { return }
                catalog.segments[catalog.segments.count - 1].seal(positionLists: lists)
            }
        } catch {
            log.options.notice("could not write the index of sealed segment \(sealed.fileName) (the next start scans the segment and writes it): \(error)")
        }
    }

    /// fdatasync of the active segment, counted (`MessageLog.fdatasyncCount`).
    private func syncFile() throws(LogError) {
        let started = ContinuousClock.now
        try file.sync()
        log.fdatasyncs.add(1, ordering: .relaxed)
        let elapsed = ContinuousClock.now - started
        LogWriter.fdatasyncTimer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// fdatasync latency, through swift-metrics (a no-op until a backend is bootstrapped).
    static let fdatasyncTimer = CoreMetrics.Timer(label: "muster_log_fdatasync_seconds")

    /// A closed log ends at its last record: the preallocated space is given back.
    private func releasePreallocation() {
        guard allocatedEnd > position, (try? file.truncate(to: position)) != nil else { return }
        allocatedEnd = position
        unsynced = true
    }

    /// Makes sure the active segment has blocks up to `end`, a step at a time. Best effort:
    /// when the file system refuses, the write simply extends the file (and reports a full disk itself).
    private func preallocate(through end: Int) {
        guard end > allocatedEnd, !preallocationRefused else { return }
        let target = max(end, min(position + Self.preallocationStep, log.options.segmentBytes))
        if file.preallocate(from: allocatedEnd, to: target) {
            allocatedEnd = target
        } else {
            preallocationRefused = true
        }
    }

    private func syncNow() {
        do {
            try syncFile()
            unsynced = false
            lastSync = .now
        } catch {
            log.queue.withLock { $0.failure = .unavailable(reason: error.description) }
        }
    }

    private func currentFailure() -> LogError {
        log.queue.withLock { $0.failure } ?? .unavailable(reason: "an earlier write failed")
    }

    private func fail(_ requests: ArraySlice<MessageLog.Request>, _ error: LogError) {
        for request in requests {
            request.sequence?.markBroken()
            request.completion(.failure(error))
        }
    }

    // MARK: Retention

    /// Deletes whole segments from the old end while the retention rules allow, recording the
    /// pruned head first so that the remaining chain still verifies from it.
    private func applyRetention() {
        lastRetention = .now
        let rules = log.options.retention
        guard !rules.isEmpty else { return }
        let now = log.options.clock()
        while true {
            let candidate: SegmentIndex? = log.catalog.withLock { catalog in
                guard catalog.segments.count > 1, let oldest = catalog.segments.first, !oldest.isEmpty,
                      RetentionRule.allowsDeleting(oldest, now: now, rules: rules, totalBytes: catalog.totalBytesByDestination)
                else { return nil }
                return oldest
            }
            guard let oldest = candidate else { return }
            let pruned = LogHead(offset: oldest.endOffset - 1, chain: oldest.lastChain)
            do throws(LogError) {
                try LogFile.writeAtomically("\(pruned)\n", to: directory + "/" + LogScanner.prunedHeadFile, in: directory)
            } catch {
                log.options.notice("retention could not delete segment \(oldest.fileName): \(error)")
                return
            }
            // Out of the catalog before the file goes: a reader that finds the file gone then finds
            // the segment gone too, and reads on from what is left (LogCursor). A file left behind
            // by a failed removal is a leftover the next start removes.
            log.catalog.withLock { catalog in
                catalog.segments.removeFirst()
                for (destination, bytes) in oldest.destinationBytes {
                    catalog.totalBytesByDestination[destination, default: 0] -= bytes
                }
            }
            do throws(LogError) {
                try LogFile.remove(oldest.path)
                SegmentIndexFile.remove(ofSegment: oldest.path)
                try LogFile.syncDirectory(directory)
            } catch {
                log.options.notice("retention could not remove \(oldest.fileName) (the next start removes it): \(error)")
                return
            }
            log.options.notice("retention deleted segment \(oldest.fileName) (offsets \(oldest.baseOffset)–\(pruned.offset)); the log now verifies from pruned head \(pruned)")
        }
    }
}

extension LogFile {
    /// Replaces a small file so that a crash leaves either the old or the new contents.
    static func writeAtomically(_ text: String, to path: String, in directory: String) throws(LogError) {
        let temporary = path + ".tmp"
        let file = try LogFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try file.write(Array(text.utf8), at: 0)
        try file.sync()
        guard rename(temporary, path) == 0 else { throw LogError.io(operation: "rename", path: temporary, errno: errno) }
        try syncDirectory(directory)
    }
}
