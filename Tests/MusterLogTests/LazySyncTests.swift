import Dispatch
import Glibc
import Foundation
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterLog

/// Records appended with `sync: false` (delivery events nobody waits for) complete once
/// written and ride on the next fdatasync; one that needs durability still gets its own.
@Suite struct LazySyncTests {
    private func append(_ log: MessageLog, _ body: String, sync: Bool) throws -> AppendedRecord {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<AppendedRecord, LogError>?>(nil)
        log.append(LogEntry(destination: "/queue/complaints", headers: [], body: Array(body.utf8)), sync: sync) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }


    /// A log holding one durable record, and the fdatasyncs counted so far.
    private func openLogWithOneRecord(in directory: LogTestDirectory) throws -> (MessageLog, Int) {
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        _ = try append(log, "first", sync: true)
        return (log, log.fdatasyncCount)
    }

    @Test func aLazyRecordCompletesBeforeAnyFdatasyncAndIsSyncedSoonAfter() async throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let (log, before) = try openLogWithOneRecord(in: directory)
        defer { log.close() }
        let record = try append(log, "delivered", sync: false)
        #expect(record.offset == 1)
        #expect(log.fdatasyncCount == before, "completed without its own fdatasync")
        #expect(try readAll(log.cursor(from: 1)).map(\.body) == [Array("delivered".utf8)], "readable at once")
        try await eventually("an fdatasync within the lazy window") { log.fdatasyncCount > before }
    }

    @Test func aRecordThatNeedsDurabilitySyncsTheLazyOnesBeforeIt() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let (log, before) = try openLogWithOneRecord(in: directory)
        defer { log.close() }
        _ = try append(log, "delivered", sync: false)
        _ = try append(log, "published", sync: true)
        #expect(log.fdatasyncCount >= before + 1, "the durable record's completion waited for an fdatasync")
    }

    @Test func waitUntilDurableSyncsWhatIsOwed() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let (log, before) = try openLogWithOneRecord(in: directory)
        _ = try append(log, "acked", sync: false)
        log.waitUntilDurable()
        #expect(log.fdatasyncCount == before + 1)
        log.waitUntilDurable()
        #expect(log.fdatasyncCount == before + 1, "nothing owed, no fdatasync")
        log.close()
        let reopened = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        #expect(reopened.nextOffset == 2)
        reopened.close()
    }
}

/// An event loop appends with `deferred: true` and then calls `commitPending()`: a lone append is
/// written, synced and completed on the caller's own thread when the writer thread is idle; a
/// batch goes to the writer thread, which syncs it while the caller reads on.
@Suite struct CallerCommitTests {
    @Test func aBatchOfDeferredAppendsIsLeftToTheWriterThread() async throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        let outcomes = CompletionRecorder()
        for index in 0..<5 {
            log.append(LogEntry(destination: "/queue/complaints", headers: [], body: Array("b\(index)".utf8)), deferred: true, completion: outcomes.record)
        }
        log.commitPending()
        try await eventually("all five completions") { outcomes.seen.count == 5 }
        #expect(outcomes.seen.allSatisfy { $0.stored && !$0.here }, "written by the writer thread")
    }

    @Test func aLoneDeferredAppendIsCommittedOnTheCallingThread() async throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        // The writer thread may be between two of its own steps at any moment; then it does the
        // work instead (correct, but not what this test looks for), so a few attempts are allowed.
        var committedHere = false
        for attempt in 0..<20 where !committedHere {
            let before = log.fdatasyncCount
            let outcomes = CompletionRecorder()
            log.append(LogEntry(destination: "/queue/complaints", headers: [], body: Array("c\(attempt)".utf8)), deferred: true,
                       completion: outcomes.record)
            log.commitPending()
            let seen = outcomes.seen
            if seen.count == 1 && seen.allSatisfy({ $0.stored && $0.here }) {
                committedHere = true
                #expect(log.fdatasyncCount == before + 1, "synced before its completion")
            } else {
                try await eventually("the writer thread to complete what the caller could not") { outcomes.seen.count == 1 }
            }
        }
        #expect(committedHere, "a lone deferred append was written, synced and completed on the calling thread")
    }

    @Test func lazyRecordsQueuedBeforeALoneDeferredAppendRideOnTheCallersWrite() async throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        // As above, the writer thread may take the queue first now and then; a few attempts are allowed.
        var rodeAlong = false
        for attempt in 0..<20 where !rodeAlong {
            let before = log.fdatasyncCount
            let outcomes = CompletionRecorder()
            for kind in ["delivered", "acked"] {
                log.append(LogEntry(kind: .delivery, destination: "/queue/complaints", headers: [], body: Array("\(kind) \(attempt)".utf8)),
                           sync: false, completion: outcomes.record)
            }
            log.append(LogEntry(destination: "/queue/complaints", headers: [], body: Array("c\(attempt)".utf8)), deferred: true,
                       completion: outcomes.record)
            if log.commitPending() {
                let seen = outcomes.seen
                #expect(seen.count == 3 && seen.allSatisfy { $0.stored && $0.here }, "the lazy records were written with the message, here")
                #expect(log.fdatasyncCount == before + 1, "one fdatasync for all three")
                rodeAlong = true
            } else {
                try await eventually("the writer thread to complete what the caller could not") { outcomes.seen.count == 3 }
            }
        }
        #expect(rodeAlong, "two lazy records and a lone message were committed together on the calling thread")
    }

    @Test func lazyRecordsAloneAreWrittenWithinTheWindowWithoutACaller() async throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        let written = Mutex(0)
        for index in 0..<10 {
            log.append(LogEntry(kind: .delivery, destination: "/queue/complaints", headers: [], body: Array("delivered \(index)".utf8)), sync: false) {
                if case .success = $0 { written.withLock { $0 += 1 } }
            }
        }
        try await eventually("the writer's timer to write them") { written.withLock { $0 } == 10 }
        try await eventually("the writer to sync them") { log.fdatasyncCount >= 1 }
        #expect(log.nextOffset == 10)
    }

    @Test func aLazyRecordDoesNotWakeAWriterWhoseTimerFiresWithinTheWindow() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        // The writer's timer and this thread race now and then; a few attempts are allowed.
        var quiet = false
        for attempt in 0..<20 where !quiet {
            // A first lazy record wakes the idle writer, which arms its timer for it ...
            log.append(LogEntry(kind: .delivery, destination: "/queue/complaints", headers: [], body: Array("delivered \(attempt)".utf8)),
                       sync: false) { _ in }
            // The timer is armed for the lazy window (20 ms) only, and the steps below must follow
            // within it: this test keeps its thread and blocks while it waits.
            try eventuallyBlocking("the writer to arm its timer") { log.queue.withLock { $0.writerWakesBy != nil } }
            // ... and a lone message takes it along on this thread: nothing lazy is queued, the timer still runs.
            let message = CompletionRecorder()
            log.append(LogEntry(destination: "/queue/complaints", headers: [], body: Array("c\(attempt)".utf8)), deferred: true,
                       completion: message.record)
            guard log.commitPending() else {
                try eventuallyBlocking("the message's completion") { message.seen.count == 1 }
                continue
            }
            guard let wakesBy = log.queue.withLock({ $0.writerWakesBy }), wakesBy - .now > .milliseconds(5) else { continue }
            let wakeups = log.writerWakeCount
            let lazy = CompletionRecorder()
            log.append(LogEntry(kind: .delivery, destination: "/queue/complaints", headers: [], body: Array("acked \(attempt)".utf8)),
                       sync: false, completion: lazy.record)
            quiet = log.writerWakeCount == wakeups
            try eventuallyBlocking("the armed timer to write the record nobody woke the writer for") { lazy.seen.count == 1 }
            #expect(lazy.seen.allSatisfy { $0.stored && !$0.here })
        }
        #expect(quiet, "a lazy record queued while the writer's timer was due within the window did not signal it")
        log.waitUntilDurable()
    }
}

extension LazySyncTests {
    @Test func aDurableRecordAfterALazyOneLeavesNothingOwed() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let (log, _) = try openLogWithOneRecord(in: directory)
        defer { log.close() }
        _ = try append(log, "delivered", sync: false)
        _ = try append(log, "published", sync: true)
        let after = log.fdatasyncCount
        log.waitUntilDurable()
        #expect(log.fdatasyncCount == after, "the durable record's fdatasync covered the lazy one: no second sync owed")
    }
}

/// Notes, for each completion, whether the record was stored and whether it completed on the
/// thread that created the recorder (the caller of `commitPending`).
private final class CompletionRecorder: Sendable {
    private let caller = pthread_self()
    private let outcomes = Mutex<[(stored: Bool, here: Bool)]>([])
    var seen: [(stored: Bool, here: Bool)] { outcomes.withLock { $0 } }

    var record: @Sendable (Result<AppendedRecord, LogError>) -> Void {
        { [self] result in outcomes.withLock { $0.append(((try? result.get()) != nil, pthread_equal(pthread_self(), caller) != 0)) } }
    }
}
