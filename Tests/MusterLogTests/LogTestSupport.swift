import Foundation
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterLog

// Helpers for tests that take the log apart on disk. The layout they rely on is the documented
// one (RecordFormat.swift, SegmentHeader.swift): segments start with a 72-byte header, each
// record carries its length at byte 8, its CRC32C (of bytes [16, length)) at byte 12 and its
// offset at byte 16.

extension LogOptions {
    init(dataDirectory: String, segmentBytes: Int, clock: ManualClock, retention: [RetentionRule] = []) {
        self.init(dataDirectory: dataDirectory, segmentBytes: segmentBytes, retention: retention,
                  clock: { clock.read() })
    }
}

/// Where a record sits in a segment file, found by walking the length fields.
struct RecordLocation: Equatable {
    let position: Int
    let length: Int
    let offset: UInt64
    var end: Int { position + length }
}

/// One segment file as bytes.
struct SegmentFile {
    let path: String
    var bytes: [UInt8]

    var name: String { (path as NSString).lastPathComponent }
    var baseOffset: UInt64 { bytes.withUnsafeBytes { $0.loadLE(UInt64.self, at: 16) } }

    init(path: String) throws {
        self.path = path
        self.bytes = try readFile(path)
    }

    /// The records, in file order, walking from byte 72 by each record's length field.
    var records: [RecordLocation] {
        var locations: [RecordLocation] = []
        var position = SegmentHeader.size
        bytes.withUnsafeBytes { raw in
            while position + RecordFormat.headerSize <= raw.count {
                let length = Int(raw.loadLE(UInt32.self, at: position + 8))
                guard length >= RecordFormat.headerSize, position + length <= raw.count else { return }
                locations.append(RecordLocation(position: position, length: length,
                                                offset: raw.loadLE(UInt64.self, at: position + 16)))
                position += length
            }
        }
        return locations
    }

    /// Recomputes a record's CRC32C after its bytes were edited.
    mutating func fixCRC(of record: RecordLocation) {
        let crc = bytes.withUnsafeBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[record.position + RecordFormat.crcStart..<record.end]))
        }
        store(crc, at: record.position + 12)
    }

    /// Recomputes the segment header's CRC32C after its bytes were edited.
    mutating func fixHeaderCRC() {
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<64])) }
        store(crc, at: 64)
    }

    mutating func store<T: FixedWidthInteger>(_ value: T, at position: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(position..<position + MemoryLayout<T>.size, with: $0) }
    }

    func save() throws { try writeFile(bytes, to: path) }
}

/// The segment files of a data directory, oldest first.
func segmentFiles(_ dataDirectory: String) throws -> [SegmentFile] {
    let directory = LogOptions.logDirectory(in: dataDirectory)
    return try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0.hasSuffix(".log") }
        .sorted()
        .map { try SegmentFile(path: directory + "/" + $0) }
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

func writeFile(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Every file of the log directory with its bytes, to check that something left them alone.
func snapshot(_ dataDirectory: String) throws -> [String: [UInt8]] {
    let directory = LogOptions.logDirectory(in: dataDirectory)
    var files: [String: [UInt8]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
        files[name] = try readFile(directory + "/" + name)
    }
    return files
}

/// A log of `count` text records (bodies of varying length) spread over several small segments, closed.
func makeClosedLog(count: Int, segmentBytes: Int = 4096) throws -> (LogTestDirectory, LogOptions) {
    let directory = try LogTestDirectory()
    let options = LogOptions(dataDirectory: directory.path, segmentBytes: segmentBytes)
    let log = try MessageLog.open(options)
    let appended = try appendAll(log, count: count) { "/topic/jinshan.summons.\($0 % 3)" }
    #expect(appended.map(\.offset) == Array(0..<UInt64(count)))
    log.close()
    return (directory, options)
}

/// The parts of a `LogError.corrupt`.
struct Corruption {
    let segment: String
    let position: Int
    let offset: UInt64?
    let reason: String
    let description: String
}

/// Runs `operation` and returns the corruption it reported; records an issue if it reported none.
func expectCorruption(_ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                      _ operation: () throws(LogError) -> Void) -> Corruption? {
    do throws(LogError) {
        try operation()
        Issue.record("\(what) accepted the damaged log", sourceLocation: sourceLocation)
        return nil
    } catch {
        guard case .corrupt(let segment, let position, let offset, let reason, _) = error else {
            Issue.record("\(what) failed, but not with .corrupt: \(error)", sourceLocation: sourceLocation)
            return nil
        }
        return Corruption(segment: segment, position: position, offset: offset, reason: reason, description: error.description)
    }
}

/// Checks that both the offline verifier and `MessageLog.open` with `verifyAll` refuse the log,
/// naming the same segment, byte position and offset, and that the refused open changed no file.
/// (Without `verifyAll`, an open takes sealed segments from their index files: SegmentIndexTests.)
func expectDamage(_ options: LogOptions, segment: String, position: Int, offset: UInt64, reason: String,
                  sourceLocation: SourceLocation = #_sourceLocation) throws {
    let before = try snapshot(options.dataDirectory)
    let verified = expectCorruption("LogArchive.verify", sourceLocation: sourceLocation) { () throws(LogError) in
        _ = try LogArchive(dataDirectory: options.dataDirectory).verify()
    }
    let opened = expectCorruption("MessageLog.open", sourceLocation: sourceLocation) { () throws(LogError) in
        var strict = options
        strict.verifyAll = true
        let log = try MessageLog.open(strict)
        log.close()
    }
    for found in [verified, opened].compactMap({ $0 }) {
        #expect(found.segment == segment, sourceLocation: sourceLocation)
        #expect(found.position == position, sourceLocation: sourceLocation)
        #expect(found.offset == offset, sourceLocation: sourceLocation)
        #expect(found.reason.contains(reason), "reason: \(found.reason)", sourceLocation: sourceLocation)
        #expect(found.description.contains(segment), sourceLocation: sourceLocation)
        #expect(found.description.contains("offset \(offset) (byte \(position))"), sourceLocation: sourceLocation)
        #expect(found.description.contains("muster log verify --data \(options.dataDirectory)"), sourceLocation: sourceLocation)
    }
    #expect(try snapshot(options.dataDirectory) == before, "opening a damaged log must not change it", sourceLocation: sourceLocation)
}

/// A deterministic generator (SplitMix64), so that a failure can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    static func random(count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
