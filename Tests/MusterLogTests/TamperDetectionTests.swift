import Foundation
import Testing
@testable import MusterLog

/// Which segment a test damages: the log has at least four, so "earlier" (the second) has
/// segments on both sides, and the damaged record always has valid records after it.
enum DamagedSegment: String, CaseIterable, CustomStringConvertible, Sendable {
    case first, earlier, last
    var description: String { rawValue }
}

/// Every kind of tampering is refused, at the right segment, byte and offset, both by the
/// offline verifier and by `MessageLog.open` (which must not "repair" it as a torn tail).
@Suite struct TamperDetectionTests {
    /// A closed log of 100 records in 4 KiB segments, and the segment `place` names.
    private func damagedLog(_ place: DamagedSegment) throws -> (LogTestDirectory, LogOptions, SegmentFile, [RecordLocation]) {
        let (directory, options) = try makeClosedLog(count: 100)
        let segments = try segmentFiles(options.dataDirectory)
        try #require(segments.count >= 4)
        let segment = switch place {
        case .first: segments[0]
        case .earlier: segments[1]
        case .last: segments[segments.count - 1]
        }
        let records = segment.records
        try #require(records.count >= 5)
        #expect(records.first?.offset == segment.baseOffset)
        #expect(records.last?.end == segment.bytes.count)
        return (directory, options, segment, records)
    }

    @Test(arguments: [DamagedSegment.earlier, .last])
    func flippedBodyByteIsDetectedAtItsOffset(in place: DamagedSegment) throws {
        let (directory, options, segment, records) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        let victim = records[records.count / 2]
        file.bytes[victim.end - 3] ^= 0x01  // inside the body "report-in NN"
        try file.save()
        try expectDamage(options, segment: file.name, position: victim.position, offset: victim.offset, reason: "CRC mismatch")
    }

    @Test(arguments: [DamagedSegment.earlier, .last])
    func deletedRecordIsDetectedAtItsOffset(in place: DamagedSegment) throws {
        let (directory, options, segment, records) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        let victim = records[records.count / 2]
        file.bytes.removeSubrange(victim.position..<victim.end)
        try file.save()
        try expectDamage(options, segment: file.name, position: victim.position, offset: victim.offset,
                         reason: "found offset \(victim.offset + 1) where offset \(victim.offset) belongs")
    }

    @Test(arguments: [DamagedSegment.earlier, .last])
    func swappedAdjacentRecordsAreDetectedAtTheFirstOffset(in place: DamagedSegment) throws {
        let (directory, options, segment, records) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        let first = records[records.count / 2 - 1], second = records[records.count / 2]
        let swapped = Array(file.bytes[second.position..<second.end] + file.bytes[first.position..<first.end])
        file.bytes.replaceSubrange(first.position..<second.end, with: swapped)
        try file.save()
        try expectDamage(options, segment: file.name, position: first.position, offset: first.offset,
                         reason: "found offset \(second.offset) where offset \(first.offset) belongs")
    }

    @Test(arguments: [DamagedSegment.earlier, .last])
    func rewrittenBodyWithFixedCRCIsCaughtOnlyByTheChain(in place: DamagedSegment) throws {
        let (directory, options, segment, records) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        let victim = records[records.count / 2]
        let body = Array("report-in \(victim.offset)".utf8)
        let forged = Array("REPORT-IN \(victim.offset)".utf8)
        #expect(Array(file.bytes[(victim.end - body.count)..<victim.end]) == body)
        file.bytes.replaceSubrange((victim.end - body.count)..<victim.end, with: forged)
        file.fixCRC(of: victim)
        try file.save()

        // Reading without the chain (as cursors do) takes the forged record for a good one...
        var seen: [UInt64: [UInt8]] = [:]
        try LogArchive(dataDirectory: options.dataDirectory).forEach { record throws(LogError) in
            seen[record.offset] = record.body
            return true
        }
        #expect(seen[victim.offset] == forged)
        #expect(seen.count == 100)
        // ...the chain does not.
        try expectDamage(options, segment: file.name, position: victim.position, offset: victim.offset, reason: "chain hash mismatch")
    }

    @Test(arguments: [DamagedSegment.earlier, .last])
    func deletedRecordWithRenumberedSuccessorsIsCaughtByTheChain(in place: DamagedSegment) throws {
        let (directory, options, segment, records) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        let victim = records[records.count / 2]
        file.bytes.removeSubrange(victim.position..<victim.end)
        // Every later record of the segment moves up by one offset, with its CRC fixed.
        for record in file.records where record.position >= victim.position {
            file.store(record.offset - 1, at: record.position + 16)
            file.fixCRC(of: RecordLocation(position: record.position, length: record.length, offset: record.offset - 1))
        }
        try file.save()
        try expectDamage(options, segment: file.name, position: victim.position, offset: victim.offset, reason: "chain hash mismatch")
    }

    @Test(arguments: [DamagedSegment.earlier, .last])
    func flippedReservedFlagsByteIsCaughtByTheChain(in place: DamagedSegment) throws {
        // Bytes 4..<8 (version, kind, flags) are outside the CRC; the chain covers them.
        let (directory, options, segment, records) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        let victim = records[records.count / 2]
        file.bytes[victim.position + 6] ^= 0x01
        try file.save()
        try expectDamage(options, segment: file.name, position: victim.position, offset: victim.offset, reason: "chain hash mismatch")
    }

    @Test(arguments: [DamagedSegment.earlier, .last])
    func timestampMovedBackWithFixedCRCIsDetected(in place: DamagedSegment) throws {
        let (directory, options, segment, records) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        let victim = records[records.count / 2]
        file.store(Int64(1), at: victim.position + 24)
        file.fixCRC(of: victim)
        try file.save()
        try expectDamage(options, segment: file.name, position: victim.position, offset: victim.offset,
                         reason: "timestamp 1 is earlier than the previous record's")
    }

    @Test(arguments: [DamagedSegment.earlier, .last])
    func enlargedLengthFieldIsDamageNotATornTail(in place: DamagedSegment) throws {
        // A record in the middle that claims to run past the end of the file: valid records
        // follow it, so this is damage, and recovery must not cut the records after it off.
        let (directory, options, segment, records) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        let victim = records[records.count / 2]
        file.store(UInt32(victim.length + 100_000), at: victim.position + 8)
        try file.save()
        try expectDamage(options, segment: file.name, position: victim.position, offset: victim.offset,
                         reason: "the record needs \(victim.length + 100_000) bytes")
    }

    @Test(arguments: DamagedSegment.allCases)
    func editedSegmentAnchorIsDetected(in place: DamagedSegment) throws {
        let (directory, options, segment, _) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        file.bytes[40] ^= 0x80  // inside the previous-chain hash, bytes 32..<64
        file.fixHeaderCRC()
        try file.save()
        let reason = place == .first ? "the first segment's anchor is not the genesis hash" : "the segment's anchor does not match the chain hash of offset \(file.baseOffset - 1)"
        try expectDamage(options, segment: file.name, position: 32, offset: file.baseOffset, reason: reason)
    }

    @Test(arguments: DamagedSegment.allCases)
    func editedSegmentHeaderWithoutFixedCRCIsDetected(in place: DamagedSegment) throws {
        let (directory, options, segment, _) = try damagedLog(place)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        file.bytes[40] ^= 0x80
        try file.save()
        try expectDamage(options, segment: file.name, position: 0, offset: file.baseOffset, reason: "the segment header's CRC does not match")
    }

    @Test func removedMiddleSegmentIsDetectedAtTheNextOne() throws {
        let (directory, options) = try makeClosedLog(count: 100)
        defer { withExtendedLifetime(directory) {} }
        let segments = try segmentFiles(options.dataDirectory)
        try FileManager.default.removeItem(atPath: segments[1].path)
        try expectDamage(options, segment: segments[2].name, position: 16, offset: segments[2].baseOffset,
                         reason: "the previous segment ends before offset \(segments[1].baseOffset): records are missing")
    }

    @Test func removedFirstSegmentWithoutPrunedHeadIsDetected() throws {
        let (directory, options) = try makeClosedLog(count: 100)
        defer { withExtendedLifetime(directory) {} }
        let segments = try segmentFiles(options.dataDirectory)
        try FileManager.default.removeItem(atPath: segments[0].path)
        try expectDamage(options, segment: segments[1].name, position: 16, offset: segments[1].baseOffset,
                         reason: "no pruned head is recorded")
    }
}
