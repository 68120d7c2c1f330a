import Foundation
import Testing
@testable import MusterLog

/// A crash can leave the end of the last segment holding part of a record (or bytes that were
/// never a record); opening the log cuts them off, keeps everything before, and goes on from there.
@Suite struct TornTailRecoveryTests {
    /// Opens the damaged log, checks what recovery cut, that every earlier record reads back,
    /// that appending continues at the right offset and that the result verifies.
    private func expectRecovered(_ options: LogOptions, records: Int, cutAt position: Int, in segment: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let log = try MessageLog.open(options)
        let torn = try #require(log.recovery.truncated, "recovery reported no torn tail", sourceLocation: sourceLocation)
        #expect(torn.segment == segment, sourceLocation: sourceLocation)
        #expect(torn.position == position, sourceLocation: sourceLocation)
        #expect(log.recovery.records == records, sourceLocation: sourceLocation)
        #expect(log.nextOffset == UInt64(records), sourceLocation: sourceLocation)
        #expect(log.head?.offset == UInt64(records - 1), sourceLocation: sourceLocation)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: options.logDirectory + "/" + segment)[.size] as? Int)
        #expect(size == position, "the segment file is cut at the torn record", sourceLocation: sourceLocation)

        let read = try readAll(log.cursor(from: 0))
        #expect(read.map(\.offset) == Array(0..<UInt64(records)), sourceLocation: sourceLocation)
        #expect(read.last?.body == Array("report-in \(records - 1)".utf8), sourceLocation: sourceLocation)

        let more = try appendAll(log, count: 3, first: records) { _ in "/topic/after.crash" }
        #expect(more.map(\.offset) == Array(UInt64(records)..<UInt64(records + 3)), sourceLocation: sourceLocation)
        #expect(try readAll(log.cursor(from: UInt64(records))).map(\.body) == (records..<records + 3).map { Array("report-in \($0)".utf8) },
                sourceLocation: sourceLocation)
        log.close()

        let verification = try LogArchive(dataDirectory: options.dataDirectory).verify()
        #expect(verification.records == records + 3, sourceLocation: sourceLocation)
        #expect(verification.tornTail == nil, sourceLocation: sourceLocation)
        let reopened = try MessageLog.open(options)
        #expect(reopened.recovery.truncated == nil, sourceLocation: sourceLocation)
        #expect(reopened.nextOffset == UInt64(records + 3), sourceLocation: sourceLocation)
        reopened.close()
    }

    @Test(arguments: [1, 10, 63, 64, 65, -1])
    func lastRecordCutShortIsTruncatedAndAppendingContinues(keeping bytes: Int) throws {
        // Several segments, so the torn one is not the first.
        let (directory, options) = try makeClosedLog(count: 80)
        defer { withExtendedLifetime(directory) {} }
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        #expect(last.baseOffset > 0)
        let final = try #require(last.records.last)
        #expect(final.offset == 79)
        let kept = bytes < 0 ? final.length - 1 : bytes
        last.bytes.removeSubrange((final.position + kept)...)
        try last.save()

        // The offline verifier reports the torn tail without touching it.
        let verification = try LogArchive(dataDirectory: options.dataDirectory).verify()
        #expect(verification.tornTail?.position == final.position)
        #expect(verification.records == 79)
        #expect(try readFile(last.path) == last.bytes)

        try expectRecovered(options, records: 79, cutAt: final.position, in: last.name)
    }

    @Test func recordCutInsideItsHeaderInTheOnlySegmentIsTruncated() throws {
        let (directory, options) = try makeClosedLog(count: 5, segmentBytes: 1 << 20)
        defer { withExtendedLifetime(directory) {} }
        var only = try #require(try segmentFiles(options.dataDirectory).first)
        #expect(try segmentFiles(options.dataDirectory).count == 1)
        let final = try #require(only.records.last)
        only.bytes.removeSubrange((final.position + 20)...)
        try only.save()
        try expectRecovered(options, records: 4, cutAt: final.position, in: only.name)
    }

    @Test func firstRecordOfAFreshSegmentCutShortLeavesTheSegmentEmpty() throws {
        // A crash just after rolling: the new segment has its header and part of its first record.
        let (directory, options) = try makeClosedLog(count: 80)
        defer { withExtendedLifetime(directory) {} }
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        let first = try #require(last.records.first)
        #expect(first.position == SegmentHeader.size)
        last.bytes.removeSubrange((first.position + first.length / 2)...)
        try last.save()
        try expectRecovered(options, records: Int(last.baseOffset), cutAt: SegmentHeader.size, in: last.name)
    }

    @Test(arguments: [1, 3, 17, 63, 64, 100, 5000])
    func randomBytesAfterTheLastRecordAreTruncated(count: Int) throws {
        let (directory, options) = try makeClosedLog(count: 60)
        defer { withExtendedLifetime(directory) {} }
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        let end = last.bytes.count
        var generator = SeededGenerator(seed: UInt64(count))
        last.bytes += [UInt8].random(count: count, using: &generator)
        try last.save()
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().tornTail?.position == end)
        try expectRecovered(options, records: 60, cutAt: end, in: last.name)
    }

    @Test(arguments: [1, 64, 4096, 70_000])
    func zerosAfterTheLastRecordArePreallocatedSpaceNotATornTail(count: Int) throws {
        // The writer preallocates the active segment; a crash leaves that space as zeros (and so
        // does a file extended by a crash before its data was written). Nothing is lost there.
        let (directory, options) = try makeClosedLog(count: 60)
        defer { withExtendedLifetime(directory) {} }
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        last.bytes += [UInt8](repeating: 0, count: count)
        try last.save()
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().tornTail == nil)

        let log = try MessageLog.open(options)
        #expect(log.recovery.truncated == nil, "zeros are not a torn tail")
        #expect(log.nextOffset == 60)
        let more = try appendAll(log, count: 3, first: 60) { _ in "/topic/after.crash" }
        #expect(more.map(\.offset) == [60, 61, 62])
        #expect(try readAll(log.cursor(from: 0)).map(\.offset) == Array(0..<63), "the new records overwrite the zeros and read back")
        log.close()
        let verification = try LogArchive(dataDirectory: options.dataDirectory).verify()
        #expect(verification.records == 63)
        #expect(verification.tornTail == nil)
    }

    @Test func zerosFollowedByARecordFragmentAreATornTail() throws {
        let (directory, options) = try makeClosedLog(count: 30)
        defer { withExtendedLifetime(directory) {} }
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        let end = last.bytes.count
        last.bytes += [UInt8](repeating: 0, count: 100) + [0x4D, 0x52, 0x45]
        try last.save()
        try expectRecovered(options, records: 30, cutAt: end, in: last.name)
    }

    @Test func aRecordHeaderFollowedByNothingIsTruncated() throws {
        // A torn write that kept a whole record header claiming more bytes than the file has.
        let (directory, options) = try makeClosedLog(count: 30)
        defer { withExtendedLifetime(directory) {} }
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        let final = try #require(last.records.last)
        let end = last.bytes.count
        last.bytes += last.bytes[final.position..<final.position + 64]
        try last.save()
        try expectRecovered(options, records: 30, cutAt: end, in: last.name)
    }

    @Test(arguments: [0, 1, 40, 71, 72])
    func lastSegmentHoldingOnlyAPartialHeaderIsRemoved(headerBytes: Int) throws {
        // A crash while rolling: the next segment file exists but its header never (fully) reached the disk.
        let (directory, options) = try makeClosedLog(count: 50)
        defer { withExtendedLifetime(directory) {} }
        let segments = try segmentFiles(options.dataDirectory)
        let unfinishedName = SegmentName.fileName(baseOffset: 50)
        let unfinishedPath = options.logDirectory + "/" + unfinishedName
        var header = SegmentHeader(baseOffset: 50, created: 1, previousChain: .genesis).encoded()
        if headerBytes == 72 { header[64] ^= 0xFF }  // a whole header whose CRC never made it
        try writeFile(Array(header.prefix(headerBytes)), to: unfinishedPath)

        let log = try MessageLog.open(options)
        #expect(log.recovery.removedSegment == unfinishedName)
        #expect(!FileManager.default.fileExists(atPath: unfinishedPath))
        #expect(log.recovery.truncated == nil)
        #expect(log.recovery.segments == segments.count)
        #expect(log.nextOffset == 50)
        #expect(try readAll(log.cursor(from: 0)).map(\.offset) == Array(0..<50))
        let more = try appendAll(log, count: 40, first: 50) { _ in "/topic/after.crash" }
        #expect(more.first?.offset == 50)
        log.close()
        let verification = try LogArchive(dataDirectory: options.dataDirectory).verify()
        #expect(verification.records == 90)
        #expect(verification.head?.offset == 89)
    }

    @Test(arguments: [0, 30, 72])
    func firstSegmentWhoseHeaderNeverReachedTheDiskIsCreatedAgain(headerBytes: Int) throws {
        // A crash while creating a brand-new log.
        let directory = try LogTestDirectory()
        let options = LogOptions(dataDirectory: directory.path)
        try FileManager.default.createDirectory(atPath: options.logDirectory, withIntermediateDirectories: true)
        var header = SegmentHeader(baseOffset: 0, created: 1, previousChain: .genesis).encoded()
        if headerBytes == 72 { header[64] ^= 0xFF }
        try writeFile(Array(header.prefix(headerBytes)), to: options.logDirectory + "/" + SegmentName.fileName(baseOffset: 0))

        let log = try MessageLog.open(options)
        #expect(log.recovery.removedSegment == SegmentName.fileName(baseOffset: 0))
        let appended = try appendAll(log, count: 3) { _ in "/topic/first.words" }
        #expect(appended.map(\.offset) == [0, 1, 2])
        log.close()
        #expect(try LogArchive(dataDirectory: directory.path).verify().records == 3)
    }

    @Test func cleanLogNeedsNoRepair() throws {
        let (directory, options) = try makeClosedLog(count: 40)
        defer { withExtendedLifetime(directory) {} }
        let before = try snapshot(options.dataDirectory)
        let log = try MessageLog.open(options)
        #expect(log.recovery.truncated == nil)
        #expect(log.recovery.removedSegment == nil)
        #expect(log.recovery.records == 40)
        log.close()
        #expect(try snapshot(options.dataDirectory) == before)
    }
}
