import MusterTestSupport
import Testing
@testable import MusterLog

/// `firstOffset(atOrAfter:)` turns a time into an offset through the sparse time index.
@Suite struct TimeIndexTests {
    @Test func everyRecordIsFoundByItsTimestampAcrossSegmentsAndAfterReopening() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock(1_000_000, step: 10)
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 16_384, clock: clock)
        let log = try MessageLog.open(options)
        let appended = try appendAll(log, count: 600) { "/topic/jinshan.beacon.\($0 % 4)" }
        let timestamps = appended.map(\.timestamp)
        #expect(zip(timestamps, timestamps.dropFirst()).allSatisfy { $0 < $1 })
        #expect(log.catalog.withLock { $0.segments.count } >= 4)
        #expect(log.catalog.withLock { $0.segments.dropLast().allSatisfy { $0.entries.count >= 3 } })

        func check(_ log: MessageLog, sourceLocation: SourceLocation = #_sourceLocation) throws {
            for (index, timestamp) in timestamps.enumerated() {
                let offset = UInt64(index)
                #expect(try log.firstOffset(atOrAfter: timestamp) == offset, "at record \(index)'s time", sourceLocation: sourceLocation)
                #expect(try log.firstOffset(atOrAfter: timestamp - 1) == offset, "just before record \(index)", sourceLocation: sourceLocation)
                #expect(try log.firstOffset(atOrAfter: timestamp + 1) == offset + 1, "just after record \(index)", sourceLocation: sourceLocation)
            }
            #expect(try log.firstOffset(atOrAfter: timestamps[0] - 1_000_000) == 0, sourceLocation: sourceLocation)
            #expect(try log.firstOffset(atOrAfter: .min) == 0, sourceLocation: sourceLocation)
            #expect(try log.firstOffset(atOrAfter: timestamps.last! + 1) == log.nextOffset, sourceLocation: sourceLocation)
            #expect(try log.firstOffset(atOrAfter: .max) == 600, sourceLocation: sourceLocation)
        }
        try check(log)
        log.close()
        // The index a recovery scan rebuilds answers the same.
        let reopened = try MessageLog.open(options)
        try check(reopened)
        reopened.close()
    }

    @Test func runsOfEqualTimestampsAnswerWithTheirFirstRecord() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock(5_000)
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 16_384, clock: clock))
        defer { log.close() }
        _ = try appendAll(log, count: 100) { _ in "/topic/a" }
        clock.set(6_000)
        // 300 records stamped alike span index entries and a segment boundary.
        _ = try appendAll(log, count: 300, first: 100) { _ in "/topic/a" }
        clock.set(7_000)
        _ = try appendAll(log, count: 100, first: 400) { _ in "/topic/a" }
        #expect(log.catalog.withLock { $0.segments.count } >= 3)

        #expect(try log.firstOffset(atOrAfter: 4_999) == 0)
        #expect(try log.firstOffset(atOrAfter: 5_000) == 0)
        #expect(try log.firstOffset(atOrAfter: 5_001) == 100)
        #expect(try log.firstOffset(atOrAfter: 6_000) == 100)
        #expect(try log.firstOffset(atOrAfter: 6_001) == 400)
        #expect(try log.firstOffset(atOrAfter: 7_000) == 400)
        #expect(try log.firstOffset(atOrAfter: 7_001) == 500)
        #expect(log.nextOffset == 500)
    }

    @Test func timestampsNeverDecreaseWhenTheClockGoesBackwards() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock(10_000)
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 4096, clock: clock)
        let log = try MessageLog.open(options)
        var stamps = try appendAll(log, count: 10) { _ in "/topic/t" }.map(\.timestamp)
        clock.set(5_000)
        stamps += try appendAll(log, count: 10, first: 10) { _ in "/topic/t" }.map(\.timestamp)
        clock.set(20_000)
        stamps += try appendAll(log, count: 40, first: 20) { _ in "/topic/t" }.map(\.timestamp)
        clock.set(0)
        stamps += try appendAll(log, count: 40, first: 60) { _ in "/topic/t" }.map(\.timestamp)
        log.close()

        // Across a restart too: the writer resumes from the last stored timestamp.
        clock.set(1)
        let reopened = try MessageLog.open(options)
        stamps += try appendAll(reopened, count: 5, first: 100) { _ in "/topic/t" }.map(\.timestamp)
        let records = try readAll(reopened.cursor(from: 0))
        #expect(try reopened.firstOffset(atOrAfter: 10_001) == 20)
        #expect(try reopened.firstOffset(atOrAfter: 20_001) == 105)
        reopened.close()

        #expect(stamps == [Int64](repeating: 10_000, count: 20) + [Int64](repeating: 20_000, count: 85))
        #expect(records.map(\.timestamp) == stamps)
        #expect(try LogArchive(dataDirectory: directory.path).verify().records == 105)
    }
}
