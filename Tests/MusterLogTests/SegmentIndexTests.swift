import Foundation
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterLog

/// Sealed segments' index files: start-up takes a sealed segment from its index when the index
/// matches it, and otherwise reads the segment and writes the index again (the log wins);
/// reads of one destination read only its records.
@Suite struct SegmentIndexTests {
    /// 300 records over three destinations in 8 KiB segments (about a dozen), closed; one in 30 is on the rare one.
    static func closedLog() throws -> (LogTestDirectory, LogOptions) {
        let directory = try LogTestDirectory()
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 8192)
        let log = try MessageLog.open(options)
        _ = try appendAll(log, count: 300) { Self.destination(of: $0) }
        log.close()
        return (directory, options)
    }

    static func destination(of index: Int) -> String {
        index % 30 == 7 ? "/queue/pinghu.rare" : "/topic/jinshan.beacon.\(index % 2)"
    }

    private func indexFiles(_ options: LogOptions) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: options.logDirectory).filter { $0.hasSuffix(".index") }.sorted()
    }

    /// What the log said while it opened.
    final class Notices: Sendable {
        private let list = Mutex<[String]>([])
        func add(_ text: String) { list.withLock { $0.append(text) } }
        var all: [String] { list.withLock { $0 } }
    }

    private func open(_ options: LogOptions, notices: Notices) throws -> MessageLog {
        var options = options
        options.notice = { notices.add($0) }
        return try MessageLog.open(options)
    }

    /// What a full read of the log says, to compare a log opened from indexes with.
    private func fullScan(_ options: LogOptions) throws -> (records: Int, head: LogHead?, rare: [UInt64]) {
        var rare: [UInt64] = []
        try LogArchive(dataDirectory: options.dataDirectory).forEach { record in
            if record.destination == "/queue/pinghu.rare" { rare.append(record.offset) }
            return true
        }
        let verified = try LogArchive(dataDirectory: options.dataDirectory).verify()
        return (verified.records, verified.head, rare)
    }

    @Test func startUpReadsOnlyTheActiveSegmentAndKnowsWhatAFullScanKnows() throws {
        let (directory, options) = try Self.closedLog()
        defer { withExtendedLifetime(directory) {} }
        let segments = try segmentFiles(options.dataDirectory)
        try #require(segments.count >= 5)
        #expect(try indexFiles(options).count == segments.count - 1, "every sealed segment has an index, the active one none")
        let expected = try fullScan(options)

        let notices = Notices()
        let log = try open(options, notices: notices)
        defer { log.close() }
        #expect(log.recovery.segmentsFromIndexes == segments.count - 1)
        #expect(log.recovery.recordsRead == segments.last!.records.count)
        #expect(log.recovery.records == expected.records)
        #expect(log.head == expected.head)
        #expect(log.nextOffset == 300)
        #expect(log.lastOffset(for: "/queue/pinghu.rare") == expected.rare.last)
        #expect(notices.all.isEmpty)
        // The log goes on from there: appends chain onto the head the indexes named.
        _ = try appendAll(log, count: 5, first: 300) { Self.destination(of: $0) }
        log.close()
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().records == 305)
    }

    @Test func aReadOfOneDestinationReadsOnlyItsRecordsInOffsetOrder() throws {
        let (directory, options) = try Self.closedLog()
        defer { withExtendedLifetime(directory) {} }
        let expected = try fullScan(options).rare
        #expect(expected.count == 10)
        let log = try MessageLog.open(options)
        defer { log.close() }
        // Sealed segments (from their index files) and the active one (whose positions are in memory).
        _ = try appendAll(log, count: 30, first: 300) { Self.destination(of: $0) }
        var got: [UInt64] = []
        var next: UInt64 = 0
        while true {
            let (records, after) = try log.records(of: "/queue/pinghu.rare", from: next, limit: 3)
            #expect(records.allSatisfy { $0.destination == "/queue/pinghu.rare" })
            got += records.map(\.offset)
            if records.isEmpty { #expect(after == log.nextOffset); break }
            // Past the last record returned when the limit was reached, else at the log's end.
            #expect(after == (records.count == 3 ? records.last!.offset + 1 : log.nextOffset))
            next = after
        }
        #expect(got == expected + [307])
        // From the middle of the log, and for a destination the log never saw.
        #expect(try log.records(of: "/queue/pinghu.rare", from: 100, limit: 2).records.map(\.offset) == Array(expected.filter { $0 >= 100 }.prefix(2)))
        #expect(try log.records(of: "/queue/nowhere", from: 0, limit: 10) .records.isEmpty)
        // Delivery records are kept apart from the messages of the same destination.
        #expect(try log.records(of: "/queue/pinghu.rare", kind: .delivery, from: 0, limit: 10).records.isEmpty)
    }

    @Test(arguments: ["missing", "torn summary", "stale", "disagreeing"])
    func anIndexThatDoesNotMatchItsSegmentIsRebuiltFromTheSegment(_ damage: String) throws {
        let (directory, options) = try Self.closedLog()
        defer { withExtendedLifetime(directory) {} }
        let segments = try segmentFiles(options.dataDirectory)
        let victim = SegmentIndexFile.path(ofSegment: segments[2].path)
        let good = try readFile(victim)
        switch damage {
        case "missing":
            try FileManager.default.removeItem(atPath: victim)
        case "torn summary":
            try writeFile(Array(good.prefix(SegmentIndexFile.fixedSize + 10)), to: victim)
        case "stale":
            // The index of another segment, as if a file had been copied over.
            try writeFile(try readFile(SegmentIndexFile.path(ofSegment: segments[3].path)), to: victim)
        default:
            // An index whose checksum holds but whose last chain hash is not the segment's.
            var bytes = good
            bytes[48] ^= 0xFF
            let summaryLength = bytes.withUnsafeBytes { Int($0.loadLE(UInt64.self, at: 168)) }
            let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<summaryLength])) }
            withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(summaryLength..<summaryLength + 4, with: $0) }
            try writeFile(bytes, to: victim)
        }
        let expected = try fullScan(options)
        let notices = Notices()
        let log = try open(options, notices: notices)
        #expect(log.recovery.segmentsFromIndexes == segments.count - 2)
        #expect(log.recovery.recordsRead == segments[2].records.count + segments.last!.records.count)
        #expect(log.recovery.records == expected.records)
        #expect(log.head == expected.head)
        #expect(try log.records(of: "/queue/pinghu.rare", from: 0, limit: 100).records.map(\.offset) == expected.rare)
        log.close()
        #expect(notices.all.contains { $0.contains(segments[2].name) }, "\(notices.all)")
        #expect(try readFile(victim) == good, "the index is written again from the segment")
        // And the next start uses it.
        let again = try MessageLog.open(options)
        #expect(again.recovery.segmentsFromIndexes == segments.count - 1)
        again.close()
    }

    @Test func aDamagedPositionListIsNotUsedAndTheSegmentIsReadThrough() throws {
        let (directory, options) = try Self.closedLog()
        defer { withExtendedLifetime(directory) {} }
        let expected = try fullScan(options).rare
        for segment in try segmentFiles(options.dataDirectory).dropLast() {
            // The lists follow the summary: tear them off, leaving the summary (and its checksum) whole.
            let path = SegmentIndexFile.path(ofSegment: segment.path)
            let bytes = try readFile(path)
            let summaryLength = bytes.withUnsafeBytes { Int($0.loadLE(UInt64.self, at: 168)) }
            try writeFile(Array(bytes.prefix(summaryLength + 4 + 8)), to: path)
        }
        let notices = Notices()
        let log = try open(options, notices: notices)
        defer { log.close() }
        #expect(log.recovery.segmentsFromIndexes > 0)
        #expect(try log.records(of: "/queue/pinghu.rare", from: 0, limit: 100).records.map { $0.offset } == expected)
        #expect(notices.all.contains { $0.contains("damaged or missing list") }, "\(notices.all)")
    }

    @Test func aRecordEditedInsideASealedSegmentIsFoundByVerifyAllAndByAReader() throws {
        let (directory, options) = try Self.closedLog()
        defer { withExtendedLifetime(directory) {} }
        var segment = try segmentFiles(options.dataDirectory)[1]
        let victim = segment.records[segment.records.count / 2]
        segment.bytes[victim.end - 2] ^= 0x01
        try segment.save()
        // Start-up trusts a sealed segment whose index matches it (same size, same last record) ...
        let log = try MessageLog.open(options)
        #expect(log.recovery.segmentsFromIndexes > 0)
        // ... but a reader of the damaged record is refused, naming it.
        let cursor = log.cursor(from: victim.offset)
        let refusal = expectCorruption("reading the edited record") { () throws(LogError) in _ = try cursor.next(maxRecords: 1) }
        #expect(refusal?.offset == victim.offset)
        log.close()
        // verifyAll (`muster serve --verify-all`) reads every record and refuses the log.
        var strict = options
        strict.verifyAll = true
        let opened = expectCorruption("MessageLog.open with verifyAll") { () throws(LogError) in try MessageLog.open(strict).close() }
        #expect(opened?.segment == segment.name)
        #expect(opened?.offset == victim.offset)
    }

    @Test func indexFilesOfSegmentsThatAreGoneAreRemoved() throws {
        let (directory, options) = try Self.closedLog()
        defer { withExtendedLifetime(directory) {} }
        let orphan = options.logDirectory + "/00000000000099999999.index"
        let halfWritten = options.logDirectory + "/00000000000000000000.index.tmp"
        try writeFile([1, 2, 3], to: orphan)
        try writeFile([1, 2, 3], to: halfWritten)
        let log = try MessageLog.open(options)
        log.close()
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(!FileManager.default.fileExists(atPath: halfWritten))
    }

    @Test func aCrashWhileRollingLeavesTheSealedSegmentActiveAgainWithoutItsIndex() throws {
        let (directory, options) = try Self.closedLog()
        defer { withExtendedLifetime(directory) {} }
        let segments = try segmentFiles(options.dataDirectory)
        let last = segments.last!
        // The roll wrote the old segment's index, then died creating the next file: that file
        // holds no header. Take the real active segment away and leave such a file in its place.
        let unfinished = options.logDirectory + "/" + SegmentName.fileName(baseOffset: last.baseOffset)
        try FileManager.default.removeItem(atPath: last.path)
        let sealed = segments[segments.count - 2]
        let lostRecords = last.records.count
        try writeFile([], to: unfinished)
        let log = try MessageLog.open(options)
        #expect(log.recovery.removedSegment == SegmentName.fileName(baseOffset: last.baseOffset))
        let end = log.nextOffset
        #expect(end == 300 - UInt64(lostRecords))
        #expect(end == last.baseOffset)
        #expect(!FileManager.default.fileExists(atPath: SegmentIndexFile.path(ofSegment: sealed.path)))
        let appended = try appendAll(log, count: 3, first: Int(end)) { _ in "/queue/pinghu.rare" }
        #expect(try log.records(of: "/queue/pinghu.rare", from: end, limit: 10).records.map { $0.offset } == appended.map { $0.offset })
        log.close()
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().records == Int(end) + 3)
    }
}
