import Dispatch
import Foundation
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

    private func waitFor(_ condition: () -> Bool, within seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            usleep(1000)
        }
        return true
    }

    /// A log holding one durable record, and the fdatasyncs counted so far.
    private func openLogWithOneRecord(in directory: LogTestDirectory) throws -> (MessageLog, Int) {
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        _ = try append(log, "first", sync: true)
        return (log, log.fdatasyncCount)
    }

    @Test func aLazyRecordCompletesBeforeAnyFdatasyncAndIsSyncedSoonAfter() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let (log, before) = try openLogWithOneRecord(in: directory)
        defer { log.close() }
        let record = try append(log, "delivered", sync: false)
        #expect(record.offset == 1)
        #expect(log.fdatasyncCount == before, "completed without its own fdatasync")
        #expect(try readAll(log.cursor(from: 1)).map(\.body) == [Array("delivered".utf8)], "readable at once")
        #expect(waitFor { log.fdatasyncCount > before }, "synced within the lazy window")
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
