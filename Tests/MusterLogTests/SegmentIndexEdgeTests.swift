import Dispatch
import Foundation
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterLog

/// Segment index files at their edges: a segment active again after a crash while rolling, index
/// files gone while the log is open, keys that look alike, readers during rolls, and reads through.
@Suite struct SegmentIndexEdgeTests {
    static let rare = "/queue/pinghu.rare"

    static func destination(of index: Int) -> String { SegmentIndexTests.destination(of: index) }

    /// The log of `SegmentIndexTests`: 300 records in 8 KiB segments, one in 30 on `rare`.
    private func closedLog() throws -> (LogTestDirectory, LogOptions) { try SegmentIndexTests.closedLog() }

    private func rareOffsets(_ options: LogOptions) throws -> [UInt64] {
        var rare: [UInt64] = []
        try LogArchive(dataDirectory: options.dataDirectory).forEach { record in
            if record.destination == Self.rare { rare.append(record.offset) }
            return true
        }
        return rare
    }

    /// A crash while rolling left an unfinished segment; the index of the segment before it cannot
    /// be written at start-up (here: a directory is in its way; in life: a full disk, EIO...).
    /// That segment is the active one again: its records written before the crash must still be
    /// found by a reader of their destination.
    @Test func aSegmentActiveAgainAfterACrashWhileRollingKeepsItsPositionsWhenItsIndexCannotBeWritten() throws {
        let (directory, options) = try closedLog()
        defer { withExtendedLifetime(directory) {} }
        let expected = try rareOffsets(options)
        let segments = try segmentFiles(options.dataDirectory)
        let last = segments.last!
        let sealed = segments[segments.count - 2]
        try FileManager.default.removeItem(atPath: last.path)
        try writeFile([], to: last.path)  // the unfinished segment
        let index = SegmentIndexFile.path(ofSegment: sealed.path)
        try FileManager.default.removeItem(atPath: index)
        try FileManager.default.createDirectory(atPath: index, withIntermediateDirectories: false)
        let log = try MessageLog.open(options)
        let end = log.nextOffset
        #expect(end == last.baseOffset)
        let got = try log.records(of: Self.rare, from: 0, limit: 100).records.map(\.offset)
        #expect(got == expected.filter { $0 < end })
        // The disk recovers; the segment fills and is sealed with an index written from memory.
        try FileManager.default.removeItem(atPath: index)
        _ = try appendAll(log, count: 60, first: Int(end)) { _ in "/topic/jinshan.beacon.0" }
        log.close()
        #expect(try segmentFiles(options.dataDirectory).count > segments.count - 1, "the segment rolled")
        let again = try MessageLog.open(options)
        defer { again.close() }
        #expect(try again.records(of: Self.rare, from: 0, limit: 100).records.map(\.offset) == expected.filter { $0 < end })
        #expect(again.lastOffset(for: Self.rare) == expected.filter { $0 < end }.last)
    }

    /// An index file is a cache: when it is gone while the log is open (removed by hand, or by a
    /// tool), a reader of one destination reads the segment through instead of failing.
    @Test func aReaderWhoseSegmentIndexFileIsGoneReadsTheSegmentThrough() throws {
        let (directory, options) = try closedLog()
        defer { withExtendedLifetime(directory) {} }
        let expected = try rareOffsets(options)
        let log = try MessageLog.open(options)
        defer { log.close() }
        for segment in try segmentFiles(options.dataDirectory).dropLast() {
            try FileManager.default.removeItem(atPath: SegmentIndexFile.path(ofSegment: segment.path))
        }
        let got = try log.records(of: Self.rare, from: 0, limit: 100).records.map(\.offset)
        #expect(got == expected)
    }

    /// Every destination's last offset comes back the same from the index files as from a full read.
    @Test func lastOffsetsOfEveryDestinationMatchAFullRead() throws {
        let (directory, options) = try closedLog()
        defer { withExtendedLifetime(directory) {} }
        var last: [String: UInt64] = [:]
        try LogArchive(dataDirectory: options.dataDirectory).forEach { record in
            last[record.destination] = record.offset
            return true
        }
        let log = try MessageLog.open(options)
        defer { log.close() }
        #expect(log.recovery.segmentsFromIndexes > 0)
        for (destination, offset) in last { #expect(log.lastOffset(for: destination) == offset, "\(destination)") }
    }

    /// A destination read in steps of one returns every record once, in order, with `next` just past
    /// each one; from a random start it agrees with a filter of a full read.
    @Test func stepwiseReadsAgreeWithAFullReadFromEveryStart() throws {
        let (directory, options) = try closedLog()
        defer { withExtendedLifetime(directory) {} }
        let expected = try rareOffsets(options)
        let log = try MessageLog.open(options)
        defer { log.close() }
        for start in stride(from: UInt64(0), through: 300, by: 7) {
            var got: [UInt64] = []
            var next = start
            while true {
                let (records, after) = try log.records(of: Self.rare, from: next, limit: 1)
                if records.isEmpty { #expect(after == log.nextOffset); break }
                #expect(after == records[0].offset + 1)
                got.append(records[0].offset)
                next = after
            }
            #expect(got == expected.filter { $0 >= start }, "from \(start)")
        }
    }

    /// Readers of one destination while the writer appends and rolls: never a record twice, never
    /// out of order, never one missed.
    @Test func readersDuringRollsMissNothing() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 4096)
        let log = try MessageLog.open(options)
        defer { log.close() }
        let done = Atomic<Bool>(false)
        let readerFinished = DispatchSemaphore(value: 0)
        let failures = Mutex<[String]>([])
        let reader = Thread {
            defer { readerFinished.signal() }
            var next: UInt64 = 0
            var seen: [UInt64] = []
            while true {
                let finished = done.load(ordering: .acquiring)
                do {
                    let (records, after) = try log.records(of: Self.rare, from: next, limit: 2)
                    for record in records {
                        if let previous = seen.last, record.offset <= previous {
                            failures.withLock { $0.append("out of order or twice: \(record.offset) after \(previous)") }
                        }
                        seen.append(record.offset)
                    }
                    next = after
                } catch {
                    failures.withLock { $0.append("\(error)") }
                    return
                }
                if finished && next >= log.nextOffset { break }
            }
            let expected = (0..<1500).filter { $0 % 30 == 7 }.map(UInt64.init)
            if seen != expected { failures.withLock { $0.append("saw \(seen.count) of \(expected.count): missing \(Set(expected).subtracting(seen).sorted())") } }
        }
        reader.start()
        _ = try appendAll(log, count: 1500) { Self.destination(of: $0) }
        done.store(true, ordering: .releasing)
        readerFinished.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
    }
    /// MusterLog takes any destination string: a message destination that starts with "ledger:"
    /// must not share a position list with the delivery records of another destination.
    @Test func aMessageDestinationNamedLikeALedgerKeyIsKeptApart() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 4096)
        let log = try MessageLog.open(options)
        defer { log.close() }
        _ = try appendAll(log, count: 3) { _ in "ledger:/queue/a" }
        let deliveries = try log.records(of: "/queue/a", kind: .delivery, from: 0, limit: 10).records
        #expect(deliveries.isEmpty, "\(deliveries.map { ($0.kind, $0.destination) })")
    }
    /// After a crash while rolling, the segment before the unfinished one is active again: every
    /// record of it (not only those appended after the restart) is found by a reader of one
    /// destination, before and after it is sealed again, and after the next start.
    @Test func aSegmentActiveAgainAfterACrashWhileRollingServesItsOldRecords() throws {
        let (directory, options) = try closedLog()
        defer { withExtendedLifetime(directory) {} }
        let expected = try rareOffsets(options)
        let segments = try segmentFiles(options.dataDirectory)
        let last = segments.last!
        try FileManager.default.removeItem(atPath: last.path)
        try writeFile([], to: last.path)
        let log = try MessageLog.open(options)
        let end = log.nextOffset
        let before = expected.filter { $0 < end }
        #expect(try log.records(of: Self.rare, from: 0, limit: 100).records.map(\.offset) == before)
        // One more record fills the segment: it is sealed (its index written from memory) and the next one starts.
        _ = try appendAll(log, count: 40, first: Int(end)) { _ in "/topic/jinshan.beacon.0" }
        #expect(try log.records(of: Self.rare, from: 0, limit: 100).records.map(\.offset) == before)
        log.close()
        let again = try MessageLog.open(options)
        defer { again.close() }
        #expect(again.recovery.segmentsFromIndexes > 0)
        #expect(try again.records(of: Self.rare, from: 0, limit: 100).records.map(\.offset) == before)
        #expect(again.lastOffset(for: Self.rare) == before.last)
    }

    /// Segments read through (their position lists damaged): `next` is just past the last record
    /// returned when the limit is reached, and a scan limit stops the read where it got to.
    @Test func readsThroughSegmentsWithoutListsPageLikeTheOldCursorRead() throws {
        let (directory, options) = try closedLog()
        defer { withExtendedLifetime(directory) {} }
        let expected = try rareOffsets(options)
        for segment in try segmentFiles(options.dataDirectory).dropLast() {
            let path = SegmentIndexFile.path(ofSegment: segment.path)
            let bytes = try readFile(path)
            let summaryLength = bytes.withUnsafeBytes { Int($0.loadLE(UInt64.self, at: 168)) }
            try writeFile(Array(bytes.prefix(summaryLength + 4 + 8)), to: path)
        }
        let log = try MessageLog.open(options)
        defer { log.close() }
        var got: [UInt64] = []
        var next: UInt64 = 0
        while true {
            let (records, after) = try log.records(of: Self.rare, from: next, limit: 1)
            if records.isEmpty { #expect(after == log.nextOffset); break }
            #expect(after == records[0].offset + 1)
            got.append(records[0].offset)
            next = after
        }
        #expect(got == expected)
        // With a scan limit of 5 from offset 8 (the next rare record is 37): nothing, and offset 13.
        let (none, reached) = try log.records(of: Self.rare, from: 8, limit: 10, scanLimit: 5)
        #expect(none.isEmpty)
        #expect(reached == 13)
    }

    /// A segment cut short under an open log (an operator's mistake, a failing disk): a reader of
    /// it is told where the file ends instead of reading the same bytes forever.
    @Test func aSegmentCutShortUnderAnOpenLogIsReportedToItsReader() throws {
        let (directory, options) = try closedLog()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(options)
        defer { log.close() }
        let segment = try segmentFiles(options.dataDirectory)[1]
        try writeFile(Array(segment.bytes.prefix(segment.bytes.count / 2)), to: segment.path)
        let cursor = log.cursor(from: segment.baseOffset)
        let refusal = expectCorruption("reading the cut segment") { () throws(LogError) in
            while try !cursor.next(maxRecords: 1000).isEmpty {}
        }
        #expect(refusal?.segment == segment.name)
        #expect(refusal?.reason.contains("the file ends at byte") == true, "\(String(describing: refusal?.reason))")
    }
}
