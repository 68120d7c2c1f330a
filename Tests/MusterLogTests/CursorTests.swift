import Dispatch
import Synchronization
import Testing
@testable import MusterLog

@Suite struct CursorTests {
    private func body(_ offset: UInt64) -> [UInt8] { Array("report-in \(offset)".utf8) }

    @Test func readsFromAnOffsetInTheMiddleOfALaterSegment() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 4096))
        defer { log.close() }
        _ = try appendAll(log, count: 200) { "/topic/jinshan.summons.\($0 % 3)" }
        let segments = log.catalog.withLock { $0.segments }
        try #require(segments.count >= 5)
        let later = segments[3]
        let start = later.baseOffset + (later.endOffset - later.baseOffset) / 2
        #expect(start > later.baseOffset && start < later.endOffset)

        let cursor = log.cursor(from: start)
        let records = try readAll(cursor)
        #expect(records.map(\.offset) == Array(start..<200))
        #expect(records.allSatisfy { $0.body == body($0.offset) })
        #expect(cursor.nextOffset == 200)
        #expect(cursor.isAtHead)

        // Seeking back into an earlier segment reads from there.
        cursor.seek(to: segments[1].baseOffset + 1)
        #expect(try cursor.next(maxRecords: 3).map(\.offset) == [1, 2, 3].map { segments[1].baseOffset + $0 })
    }

    @Test func nextReturnsAtMostMaxRecordsAcrossSegmentBoundaries() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 4096))
        defer { log.close() }
        _ = try appendAll(log, count: 200) { "/topic/jinshan.summons.\($0 % 3)" }
        let boundary = log.catalog.withLock { $0.segments[2].baseOffset }

        let cursor = log.cursor(from: boundary - 3)
        let spanning = try cursor.next(maxRecords: 7)
        #expect(spanning.map(\.offset) == Array(boundary - 3..<boundary + 4))

        cursor.seek(to: 0)
        var batches: [Int] = []
        var offsets: [UInt64] = []
        while true {
            let batch = try cursor.next(maxRecords: 7)
            if batch.isEmpty { break }
            batches.append(batch.count)
            offsets += batch.map(\.offset)
        }
        #expect(offsets == Array(0..<200))
        #expect(batches.dropLast().allSatisfy { $0 == 7 })
        #expect(batches.last == 200 % 7)

        cursor.seek(to: 10)
        #expect(try cursor.next(maxRecords: 1).map(\.offset) == [10])
        // A byte budget smaller than one record still returns one record, never none.
        #expect(try cursor.next(maxRecords: 100, maxBytes: 1).map(\.offset) == [11])
        let twoRecordsOfBytes = try cursor.next(maxRecords: 1).first!.size * 2
        #expect(try cursor.next(maxRecords: 100, maxBytes: twoRecordsOfBytes).count == 2)
    }

    @Test func seesRecordsAppendedAfterItReachedTheHead() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 4096))
        defer { log.close() }
        _ = try appendAll(log, count: 10) { _ in "/topic/live" }
        let cursor = log.cursor(from: 0)
        let fresh = log.cursor(from: log.nextOffset)  // a subscriber that wants only new records
        #expect(try readAll(cursor).count == 10)
        #expect(cursor.isAtHead)
        #expect(try cursor.next().isEmpty)
        #expect(try fresh.next().isEmpty)

        // Enough to roll into new segments while the cursor sits at the end of the old one.
        let segmentsBefore = log.catalog.withLock { $0.segments.count }
        _ = try appendAll(log, count: 90, first: 10) { _ in "/topic/live" }
        #expect(log.catalog.withLock { $0.segments.count } > segmentsBefore)
        #expect(!cursor.isAtHead)
        let more = try readAll(cursor)
        #expect(more.map(\.offset) == Array(10..<100))
        #expect(more.allSatisfy { $0.body == body($0.offset) })
        #expect(try readAll(fresh).map(\.offset) == Array(10..<100))

        _ = try appendAll(log, count: 1, first: 100) { _ in "/topic/live" }
        #expect(try cursor.next().map(\.offset) == [100])
    }

    @Test func observersHearOfNewRecordsOnceTheyAreReadable() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 4096))
        defer { log.close() }
        let cursor = log.cursor(from: 0)
        let heard = Mutex<[UInt64]>([])
        let readable = Mutex<[UInt64]>([])
        let arrived = DispatchSemaphore(value: 0)
        let id = log.observeAppends { appended in
            let next = appended.nextOffset
            // Records are readable by the time observers hear of them.
            let read = (try? readAll(log.cursor(from: next - 1)).map(\.offset)) ?? []
            readable.withLock { $0 += read }
            heard.withLock { $0.append(next) }
            if next == 50 { arrived.signal() }
        }
        for index in 0..<50 {
            log.append(LogEntry(destination: "/topic/o", headers: [], body: Array("report-in \(index)".utf8))) { _ in }
        }
        #expect(arrived.wait(timeout: .now() + 10) == .success)
        let values = heard.withLock { $0 }
        #expect(values.last == 50)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 < $1 })
        #expect(readable.withLock { $0 } == values.map { $0 - 1 })
        #expect(try readAll(cursor).count == 50)

        log.removeObserver(id)
        _ = try appendAll(log, count: 5, first: 50) { _ in "/topic/o" }
        #expect(heard.withLock { $0 }.last == 50)
    }
}
