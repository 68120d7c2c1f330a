import Foundation
import Synchronization
import Testing
@testable import MusterLog

/// The last record of the log, complete on disk but not what was written (a flipped bit, an
/// edit), is damage: the log refuses to open, naming the segment, the byte and the offset, and
/// nothing is cut. Only a record whose bytes stop short (the file ends inside it, or only zeros
/// follow from a sector boundary inside it) is a torn write that recovery cuts off.
@Suite struct TailCorruptionTests {
    /// How the last segment ends after its final record.
    enum Ending: String, CaseIterable, CustomStringConvertible, Sendable {
        /// The log was closed: the file ends with the record.
        case endOfFile
        /// The broker was killed: preallocated zeros follow the record.
        case preallocatedZeros
        var description: String { rawValue }
    }

    /// Which byte of the final record is flipped, and the reason the refusal must give.
    enum FlippedByte: String, CaseIterable, CustomStringConvertible, Sendable {
        case magic, version, kind, flags, lengthLowByte, lengthHighByte, crc, offset, timestamp, chain, destination, body, lastByte
        var description: String { rawValue }

        func position(in record: RecordLocation) -> Int {
            switch self {
            case .magic: record.position
            case .version: record.position + 4
            case .kind: record.position + 5
            case .flags: record.position + 6
            case .lengthLowByte: record.position + 8
            case .lengthHighByte: record.position + 11
            case .crc: record.position + 12
            case .offset: record.position + 16
            case .timestamp: record.position + 24
            case .chain: record.position + 40
            case .destination: record.position + 66
            case .body: record.end - 5
            case .lastByte: record.end - 1
            }
        }

        /// The flags are outside the CRC but inside the chain; every other flip leaves a complete
        /// record that does not decode, which must not be taken for a write cut short.
        var reason: String { self == .flags ? "chain hash mismatch" : "not a write cut short" }
    }

    /// A closed log of 60 records over several segments, and its last segment.
    private func logWithFinalRecord(_ ending: Ending) throws -> (LogTestDirectory, LogOptions, SegmentFile, RecordLocation) {
        let (directory, options) = try makeClosedLog(count: 60)
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        let final = try #require(last.records.last)
        #expect(final.offset == 59)
        #expect(final.end == last.bytes.count)
        if ending == .preallocatedZeros {
            last.bytes += [UInt8](repeating: 0, count: 4096)
            try last.save()
        }
        return (directory, options, last, final)
    }

    @Test(arguments: FlippedByte.allCases, Ending.allCases)
    func flippedByteInTheFinalRecordRefusesTheOpenNamingItsOffset(byte: FlippedByte, ending: Ending) throws {
        let (directory, options, segment, final) = try logWithFinalRecord(ending)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        file.bytes[byte.position(in: final)] ^= 0x01
        try file.save()
        // Both the offline verifier and the open refuse it, naming the record; the open cuts nothing.
        try expectDamage(options, segment: file.name, position: final.position, offset: 59, reason: byte.reason)
        #expect(try readFile(file.path) == file.bytes)
    }

    @Test func finalRecordWithAForgedBodyAndFixedCRCIsRefusedByTheChain() throws {
        let (directory, options, segment, final) = try logWithFinalRecord(.preallocatedZeros)
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        file.bytes[final.end - 1] ^= 0x01
        file.fixCRC(of: final)
        try file.save()
        try expectDamage(options, segment: file.name, position: final.position, offset: 59, reason: "chain hash mismatch")
    }

    @Test func onlyRecordOfTheLogFlippedIsRefused() throws {
        let directory = try LogTestDirectory()
        let options = LogOptions(dataDirectory: directory.path)
        let log = try MessageLog.open(options)
        _ = try appendAll(log, count: 1) { _ in "/topic/alone" }
        log.close()
        var file = try #require(try segmentFiles(directory.path).first)
        let only = try #require(file.records.first)
        file.bytes[only.end - 1] ^= 0x01
        try file.save()
        try expectDamage(options, segment: file.name, position: SegmentHeader.size, offset: 0, reason: "not a write cut short")
    }

    // MARK: Torn writes are still cut off

    /// A log of ten small records and a final record of 3,000 bytes (it spans several 512-byte
    /// sectors), closed, and where that final record sits.
    private func logWithLargeFinalRecord() throws -> (LogTestDirectory, LogOptions, SegmentFile, RecordLocation) {
        let directory = try LogTestDirectory()
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 1 << 20)
        let log = try MessageLog.open(options)
        _ = try appendAll(log, count: 10) { _ in "/topic/jinshan.summons" }
        _ = try append(log, LogEntry(destination: "/topic/jinshan.summons", headers: [LogHeader("content-type", "text/plain")],
                                     body: Array(repeating: UInt8(ascii: "x"), count: 3000)))
        log.close()
        let file = try #require(try segmentFiles(directory.path).first)
        let final = try #require(file.records.last)
        #expect(final.offset == 10)
        #expect(final.end == file.bytes.count)
        return (directory, options, file, final)
    }

    /// The 512-byte boundaries of the file that fall inside a record (after its first byte).
    private func sectorBoundaries(inside record: RecordLocation) -> [Int] {
        Array(stride(from: (record.position / 512 + 1) * 512, to: record.end, by: 512))
    }

    @Test(arguments: [false, true], [0, 4096, 70_000])
    func finalRecordWhoseBytesStopAtASectorBoundaryIsATornTail(atTheFirstBoundary: Bool, zerosAfter: Int) throws {
        // A crash while the page cache was being written back (or a write killed half-way):
        // the record's first sectors reached the disk, the rest of it reads as zeros, and so does
        // the preallocated space after it. The record never got its receipt.
        let (directory, options, segment, final) = try logWithLargeFinalRecord()
        defer { withExtendedLifetime(directory) {} }
        let boundaries = sectorBoundaries(inside: final)
        try #require(boundaries.count >= 3)
        let cut = try #require(atTheFirstBoundary ? boundaries.first : boundaries.last)
        var file = segment
        file.bytes.replaceSubrange(cut..<final.end, with: repeatElement(0, count: final.end - cut))
        file.bytes += [UInt8](repeating: 0, count: zerosAfter)
        try file.save()

        let verification = try LogArchive(dataDirectory: options.dataDirectory).verify()
        #expect(verification.tornTail?.position == final.position)
        #expect(verification.records == 10)
        #expect(verification.tornTail?.reason.contains("a write cut short") == true, "\(String(describing: verification.tornTail))")

        let log = try MessageLog.open(options)
        #expect(log.recovery.truncated?.position == final.position)
        #expect(log.nextOffset == 10)
        let appended = try appendAll(log, count: 2, first: 10) { _ in "/topic/after.crash" }
        #expect(appended.map(\.offset) == [10, 11])
        log.close()
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().records == 12)
    }

    @Test func finalRecordCutShortAtTheEndOfTheFileIsATornTail() throws {
        let (directory, options, segment, final) = try logWithLargeFinalRecord()
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        file.bytes.removeSubrange((final.position + 1500)...)
        try file.save()
        let log = try MessageLog.open(options)
        #expect(log.recovery.truncated?.position == final.position)
        #expect(log.nextOffset == 10)
        log.close()
    }

    @Test func finalRecordWithAHoleThatDoesNotReachTheEndIsRefused() throws {
        // Zeros inside the record with its own bytes after them: no write that stopped short
        // leaves that, so it is not cut off on a guess. `muster log repair` can cut it.
        let (directory, options, segment, final) = try logWithLargeFinalRecord()
        defer { withExtendedLifetime(directory) {} }
        let boundary = try #require(sectorBoundaries(inside: final).first)
        var file = segment
        file.bytes.replaceSubrange(boundary..<boundary + 512, with: repeatElement(0, count: 512))
        try file.save()
        try expectDamage(options, segment: file.name, position: final.position, offset: 10, reason: "not a write cut short")
    }

    @Test func flippedByteInALargeFinalRecordFollowedByZerosIsRefused() throws {
        let (directory, options, segment, final) = try logWithLargeFinalRecord()
        defer { withExtendedLifetime(directory) {} }
        var file = segment
        file.bytes[final.position + 1000] ^= 0x01
        file.bytes += [UInt8](repeating: 0, count: 8192)
        try file.save()
        try expectDamage(options, segment: file.name, position: final.position, offset: 10, reason: "CRC mismatch")
    }

    @Test func finalRecordEndingInZerosWithNoSectorBoundaryAmongThemIsRefused() throws {
        // The record's own trailing zeros (a body ending in zero bytes) are not a torn write when
        // no 512-byte boundary falls among them: the write went past them.
        let directory = try LogTestDirectory()
        let options = LogOptions(dataDirectory: directory.path)
        let log = try MessageLog.open(options)
        _ = try append(log, LogEntry(destination: "/topic/x", headers: [], body: Array("abc".utf8) + [UInt8](repeating: 0, count: 40)))
        log.close()
        var file = try #require(try segmentFiles(directory.path).first)
        let final = try #require(file.records.last)
        #expect(sectorBoundaries(inside: final).isEmpty)
        file.bytes[final.end - 41] ^= 0x01  // the "c"
        file.bytes += [UInt8](repeating: 0, count: 4096)
        try file.save()
        try expectDamage(options, segment: file.name, position: final.position, offset: 0, reason: "not a write cut short")
    }
}

/// Appends one entry and waits until it is durable.
func append(_ log: MessageLog, _ entry: LogEntry) throws -> AppendedRecord {
    let result = Mutex<Result<AppendedRecord, LogError>?>(nil)
    let done = DispatchSemaphore(value: 0)
    log.append(entry) { outcome in
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}
