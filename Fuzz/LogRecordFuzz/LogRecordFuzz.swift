import CChecksum
import Foundation
import FuzzSupport
import MusterLog

// The log's record decoding, through the paths that read a log from disk: verification
// (LogArchive.verify and forEach), recovery when the broker opens its log (MessageLog.open) and
// subscribers' cursors (LogCursor). The input becomes one segment file. Its first byte chooses:
//  - bit 0: the records are sealed by this harness (magic, version, length, offset, timestamp,
//    chain and CRC32C filled in as Schemas/log-format.md says, each one spoilable on request),
//    so that the fuzzer gets past the CRC to the payload; otherwise the input is the raw bytes;
//  - bit 1: the 72-byte segment header comes from the input instead of being valid;
//  - bit 2: zeros follow the records, as in a preallocated active segment.
// A sealed record is: a flags byte (bit 0 bad CRC, 1 bad chain, 2 offset from input, 3 torn
// write, 4 length off by -8...7, 5 version from input, 6 payload built from fields), a kind byte,
// then either a u16 payload length and the payload, or (bit 6) a destination, headers and body
// each with a one-byte length.
// Invariants:
//  1. Verification and forEach agree, and what they return is consistent: dense offsets from 0,
//     sizes that add up, never-decreasing timestamps, the head is the last record, and a torn
//     tail starts right after the last record.
//  2. Sealed records with nothing spoilt are all read back, exactly as built; a spoilt record
//     followed by one that decodes is corruption, refused, never cut off as a torn tail.
//  3. Opening the log succeeds exactly when verification does, recovers the same records (a
//     cursor reads them all), and leaves a log that verifies without a torn tail.
//  4. Round trip: the records read, appended to a new log, read back equal, and that log verifies.

let scratch: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return base + "/muster-log-fuzz-\(getpid())"
}()

func check(_ input: [UInt8]) {
    var choices = FuzzBytes(input)
    let mode = choices.byte()
    let data = scratch + "/data"
    let copy = scratch + "/copy"
    try? FileManager.default.removeItem(atPath: scratch)
    let logDirectory = LogOptions.logDirectory(in: data)
    guard (try? FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)) != nil else {
        fatalError("cannot create \(logDirectory)")
    }
    defer { try? FileManager.default.removeItem(atPath: scratch) }

    var segment: [UInt8] = []
    if mode & 2 != 0 {
        for _ in 0..<72 { segment.append(choices.byte()) }
    } else {
        segment = segmentHeader()
    }
    var built: [BuiltRecord] = []
    var clean = mode & 2 == 0
    var recordAfterDamage = false
    if mode & 1 != 0 {
        let sealed = sealRecords(&choices, into: &segment, built: &built)
        clean = sealed.clean && clean
        recordAfterDamage = sealed.recordAfterDamage && mode & 2 == 0
    } else {
        segment.append(contentsOf: choices.rest)
        clean = false
    }
    if mode & 4 != 0 {
        segment.append(contentsOf: repeatElement(0, count: Int(input.last ?? 0) * 4))
    }
    let segmentPath = logDirectory + "/00000000000000000000.log"
    guard FileManager.default.createFile(atPath: segmentPath, contents: Data(segment)) else {
        fatalError("cannot write \(segmentPath)")
    }

    let archive = LogArchive(dataDirectory: data)
    let verified = Result { () throws(LogError) in try archive.verify() }
    var listed: [LogRecord] = []
    let walked = Result { () throws(LogError) in try archive.forEach { record throws(LogError) in listed.append(record); return true } }

    if clean {
        guard case .success(let verification) = verified else {
            invariant(false, "\(built.count) well-formed records do not verify: \(verified)")
            return
        }
        invariant(verification.records == built.count, "\(built.count) well-formed records, \(verification.records) verified")
        invariant(zip(listed, built).allSatisfy { same($0.0.entry, $0.1.entry) && $0.0.timestamp == $0.1.timestamp },
                  "records were read back differently from how they were written")
    }

    if recordAfterDamage {
        // Only the end of a log can be torn: damage followed by a whole record is corruption,
        // and cutting it off would throw the records after it away.
        var refused = false
        if case .failure(let error) = verified, case .corrupt = error { refused = true }
        invariant(refused, "a damaged record followed by a whole one was not refused as corrupt: \(verified)")
    }

    guard case .success(let verification) = verified else {
        checkRefusedOpen(data, verified)
        return
    }
    guard case .success(let walk) = walked else {
        invariant(false, "the log verifies but forEach fails: \(walked)")
        return
    }
    invariant(walk.records == verification.records && walk.bytes == verification.bytes && listed.count == walk.records,
              "verify saw \(verification.records) records (\(verification.bytes) bytes), forEach \(walk.records) (\(walk.bytes) bytes)")
    var previousTimestamp = Int64.min
    for (index, record) in listed.enumerated() {
        invariant(record.offset == UInt64(index), "record \(index) has offset \(record.offset)")
        invariant(record.size >= 72, "record \(index) is \(record.size) bytes")
        invariant(record.timestamp >= previousTimestamp, "record \(index) goes back in time")
        previousTimestamp = record.timestamp
    }
    invariant(listed.reduce(0) { $0 + $1.size } == verification.bytes, "record sizes do not add up to \(verification.bytes)")
    invariant(verification.head == listed.last.map { LogHead(offset: $0.offset, chain: $0.chain) },
              "head \(String(describing: verification.head)) is not the last record")
    if verification.segments == 0 {
        // A segment holding less than a header is one whose creation a crash interrupted.
        invariant(segment.count <= 72 && listed.isEmpty, "a \(segment.count)-byte segment was taken for an unfinished one")
    } else if let torn = verification.tornTail {
        invariant(torn.position == 72 + verification.bytes && torn.position < segment.count,
                  "torn tail at \(torn.position) after \(verification.bytes) bytes of records in \(segment.count)")
    } else {
        invariant(segment[(72 + verification.bytes)...].allSatisfy { $0 == 0 },
                  "bytes after the last record are neither a torn tail nor zeros")
    }

    checkOpen(data, verification: verification, listed: listed)
    checkRoundTrip(listed, in: copy)
}

struct BuiltRecord {
    let entry: LogEntry
    let timestamp: Int64
}

func segmentHeader() -> [UInt8] {
    var header = Array("MUSTRLOG".utf8)
    header.appendLE(UInt16(1))
    header.appendLE(UInt16(0))
    header.appendLE(UInt32(72))
    header.appendLE(UInt64(0))
    header.appendLE(UInt64(1_000_000))
    header.append(contentsOf: repeatElement(0, count: 32))
    header.appendLE(crc32c(header[...]))
    header.appendLE(UInt32(0))
    return header
}

/// Appends sealed records built from the input. `clean`: none was spoilt; `recordAfterDamage`: a
/// record that decodes (right length, version and CRC, known kind) follows one that was spoilt.
func sealRecords(_ choices: inout FuzzBytes, into segment: inout [UInt8], built: inout [BuiltRecord])
    -> (clean: Bool, recordAfterDamage: Bool) {
    var clean = true
    var recordAfterDamage = false
    var chain = [UInt8](repeating: 0, count: 32)
    var timestamp: Int64 = 1_000_000
    var offset: UInt64 = 0
    while !choices.isAtEnd {
        let flags = choices.byte()
        let kind = choices.byte()
        var payload: [UInt8] = []
        var entry: LogEntry?
        if flags & 64 != 0 {
            let destination = String(decoding: take(&choices, Int(choices.byte())), as: UTF8.self)
            var headers: [LogHeader] = []
            for _ in 0..<(choices.byte() % 4) {
                let name = String(decoding: take(&choices, Int(choices.byte())), as: UTF8.self)
                let value = String(decoding: take(&choices, Int(choices.byte())), as: UTF8.self)
                headers.append(LogHeader(name, value))
            }
            let body = take(&choices, Int(choices.byte()))
            payload.appendString16(destination)
            payload.appendLE(UInt16(headers.count))
            for header in headers {
                payload.appendString16(header.name)
                payload.appendLE(UInt32(header.value.utf8.count))
                payload.append(contentsOf: header.value.utf8)
            }
            payload.appendLE(UInt32(body.count))
            payload.append(contentsOf: body)
            if let kind = RecordKind(rawValue: kind) {
                entry = LogEntry(kind: kind, destination: destination, headers: headers, body: body)
            }
        } else {
            payload = take(&choices, choices.uint16() % 1024)
        }
        timestamp += Int64(choices.byte())
        let recordOffset = flags & 4 != 0 ? UInt64(choices.uint16()) : offset
        let version = flags & 32 != 0 ? choices.byte() : 1
        let lengthDelta = flags & 16 != 0 ? Int(choices.byte() % 16) - 8 : 0

        var record: [UInt8] = []
        record.appendLE(UInt32(0x4345_524D))
        record.append(version)
        record.append(kind)
        record.appendLE(UInt16(0))
        record.appendLE(UInt32(truncatingIfNeeded: 64 + payload.count + lengthDelta))
        record.appendLE(UInt32(0))
        record.appendLE(recordOffset)
        record.appendLE(UInt64(bitPattern: timestamp))
        record.append(contentsOf: repeatElement(0, count: 32))
        record.append(contentsOf: payload)
        let link = sha256([chain[...], record[4..<8], record[16..<32], record[64...]])
        if flags & 2 == 0 { record.replaceSubrange(32..<64, with: link) }
        var crc = crc32c(record[16...])
        if flags & 1 != 0 { crc ^= 1 }
        record.replaceSubrange(12..<16, with: withUnsafeBytes(of: crc.littleEndian, Array.init))
        if flags & 8 != 0 {
            segment.append(contentsOf: record.prefix(Int(choices.byte()) % record.count))
            return (false, recordAfterDamage)
        }
        segment.append(contentsOf: record)
        let spoilt = flags & 1 != 0 || flags & 2 != 0 || recordOffset != offset || lengthDelta != 0 || version != 1
        let decodes = entry != nil && flags & 1 == 0 && lengthDelta == 0 && version == 1
        if decodes && !clean { recordAfterDamage = true }
        guard let entry, !spoilt, clean else {
            clean = false
            continue
        }
        built.append(BuiltRecord(entry: entry, timestamp: timestamp))
        chain = link
        offset += 1
    }
    return (clean, recordAfterDamage)
}

func take(_ choices: inout FuzzBytes, _ count: Int) -> [UInt8] {
    (0..<count).map { _ in choices.byte() }
}

/// A log that does not verify must not be opened: the broker refuses damage it cannot cut off.
func checkRefusedOpen(_ data: String, _ verified: Result<LogVerification, LogError>) {
    guard case .failure(let error) = verified, case .corrupt = error else { return }
    if let log = try? MessageLog.open(LogOptions(dataDirectory: data, segmentBytes: 64 << 10)) {
        log.close()
        invariant(false, "a log that fails verification (\(error)) was opened")
    }
}

func checkOpen(_ data: String, verification: LogVerification, listed: [LogRecord]) {
    let log: MessageLog
    do {
        log = try MessageLog.open(LogOptions(dataDirectory: data, segmentBytes: 64 << 10))
    } catch {
        invariant(false, "a log that verifies does not open: \(error)")
        return
    }
    invariant(log.recovery.records == verification.records, "recovery found \(log.recovery.records) records, verify \(verification.records)")
    invariant(log.recovery.truncated?.position == verification.tornTail?.position,
              "recovery cut at \(String(describing: log.recovery.truncated?.position)), verify found a torn tail at \(String(describing: verification.tornTail?.position))")
    let cursor = log.cursor(from: 0)
    var read: [LogRecord] = []
    while true {
        let batch: [LogRecord]
        do {
            batch = try cursor.next(maxRecords: 7, maxBytes: 4096)
        } catch {
            invariant(false, "a cursor fails on a log that verifies: \(error)")
            return
        }
        if batch.isEmpty { break }
        read.append(contentsOf: batch)
    }
    log.close()
    invariant(read.count == listed.count && zip(read, listed).allSatisfy { $0.0.offset == $0.1.offset && same($0.0.entry, $0.1.entry) },
              "a cursor read \(read.count) records, forEach \(listed.count)")
    switch Result(catching: { () throws(LogError) in try LogArchive(dataDirectory: data).verify() }) {
    case .success(let after):
        invariant(after.records == verification.records && after.tornTail == nil,
                  "after recovery \(after.records) records verify (torn tail \(String(describing: after.tornTail)))")
    case .failure(let error):
        invariant(false, "the log does not verify after recovery: \(error)")
    }
}

func checkRoundTrip(_ records: [LogRecord], in directory: String) {
    guard !records.isEmpty else { return }
    let log: MessageLog
    do {
        log = try MessageLog.open(LogOptions(dataDirectory: directory, segmentBytes: 64 << 10))
    } catch {
        invariant(false, "a new log does not open: \(error)")
        return
    }
    for record in records {
        log.append(record.entry) { result in
            if case .failure(let error) = result { invariant(false, "appending failed: \(error)") }
        }
    }
    log.close()
    var copied: [LogRecord] = []
    let archive = LogArchive(dataDirectory: directory)
    do {
        try archive.forEach { record throws(LogError) in copied.append(record); return true }
        let verification = try archive.verify()
        invariant(verification.records == records.count, "\(records.count) records appended, \(verification.records) verify")
    } catch {
        invariant(false, "the log written from the records read does not read back: \(error)")
    }
    invariant(copied.count == records.count && zip(copied, records).allSatisfy { same($0.0.entry, $0.1.entry) },
              "\(records.count) records appended, \(copied.count) read back differently")
}

func same(_ left: LogEntry, _ right: LogEntry) -> Bool {
    left.kind == right.kind && left.destination == right.destination && left.headers == right.headers && left.body == right.body
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendString16(_ text: String) {
        appendLE(UInt16(text.utf8.count))
        append(contentsOf: text.utf8)
    }
}

func crc32c(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.withUnsafeBytes { muster_crc32c(0, $0.baseAddress, $0.count) }
}

func sha256(_ parts: [ArraySlice<UInt8>]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    var ok = muster_sha256_begin() == 1
    for part in parts where !part.isEmpty {
        ok = part.withUnsafeBytes { muster_sha256_update($0.baseAddress, $0.count) } == 1 && ok
    }
    ok = digest.withUnsafeMutableBufferPointer { muster_sha256_finish($0.baseAddress) } == 1 && ok
    invariant(ok, "SHA-256 failed")
    return digest
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
enum LogRecordFuzz {
    static func main() {
        replayFiles(check)
    }
}
#endif
