import Foundation
import Synchronization
import Testing
@testable import MusterLog

@Suite struct AppendAndReadTests {
    @Test func appendedRecordsReadBackInOrderAcrossSegmentsAndSurviveReopening() throws {
        let directory = try LogTestDirectory()
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 4096)
        let log = try MessageLog.open(options)
        let appended = try appendAll(log, count: 300) { "/topic/jinshan.summons.\($0 % 3)" }
        #expect(appended.map(\.offset) == Array(0..<300))
        let records = try readAll(log.cursor(from: 0))
        #expect(records.map(\.offset) == Array(0..<300))
        #expect(records[7].body == Array("report-in 7".utf8))
        #expect(records[7].destination == "/topic/jinshan.summons.1")
        #expect(records[7].header("content-type") == "text/plain")
        #expect(try LogFile.list(options.logDirectory).filter { $0.hasSuffix(".log") }.count > 5)
        let head = log.head
        log.close()

        let reopened = try MessageLog.open(options)
        #expect(reopened.recovery.records == 300)
        #expect(reopened.recovery.truncated == nil)
        #expect(reopened.head == head)
        let more = try appendAll(reopened, count: 5, first: 300) { _ in "/topic/jinshan.summons.0" }
        #expect(more.map(\.offset) == Array(300..<305))
        reopened.close()
        let verification = try LogArchive(dataDirectory: directory.path).verify(expectHead: head)
        #expect(verification.records == 305)
        #expect(verification.head?.offset == 304)
    }
}

/// A temporary data directory, removed when the test ends.
final class LogTestDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("muster-log-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Appends `count` text records and waits for every completion.
func appendAll(_ log: MessageLog, count: Int, first: Int = 0, destination: (Int) -> String) throws -> [AppendedRecord] {
    let results = Mutex<[Int: Result<AppendedRecord, LogError>]>([:])
    let done = DispatchSemaphore(value: 0)
    for index in first..<first + count {
        let entry = LogEntry(destination: destination(index), headers: [LogHeader("content-type", "text/plain")],
                             body: Array("report-in \(index)".utf8))
        log.append(entry) { result in
            results.withLock { $0[index] = result }
            done.signal()
        }
    }
    for _ in 0..<count { done.wait() }
    return try results.withLock { results in try (first..<first + count).map { try results[$0]!.get() } }
}

/// Reads from the cursor until it reaches the durable head.
func readAll(_ cursor: LogCursor) throws -> [LogRecord] {
    var records: [LogRecord] = []
    while true {
        let batch = try cursor.next(maxRecords: 64)
        if batch.isEmpty { return records }
        records += batch
    }
}
