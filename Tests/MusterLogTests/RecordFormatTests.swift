import Testing
@testable import MusterLog

@Suite struct RecordFormatTests {
    private let previous = ChainHash(bytes: (0..<32).map { UInt8($0 * 7 & 0xFF) })

    private func encode(_ entry: LogEntry, offset: UInt64 = 41, timestamp: Int64 = 1_786_000_000_123) -> ([UInt8], ChainHash) {
        var buffer: [UInt8] = []
        let chain = RecordFormat.encode(entry, offset: offset, timestamp: timestamp, previous: previous, into: &buffer)
        return (buffer, chain)
    }

    private func decode(_ bytes: ArraySlice<UInt8>) -> RecordFormat.Decoded {
        bytes.withUnsafeBytes { RecordFormat.decode($0) }
    }

    private func decodedRecord(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> LogRecord? {
        guard case .record(let record) = decode(bytes[...]) else {
            Issue.record("expected a record, got \(decode(bytes[...]))", sourceLocation: sourceLocation)
            return nil
        }
        return record
    }

    static let entries: [LogEntry] = [
        LogEntry(destination: "/queue/jinshan.orders",
                 headers: [LogHeader("content-type", "text/plain"), LogHeader("z-last", "1"), LogHeader("a-first", "2"),
                           LogHeader("z-last", "repeated name keeps its place")],
                 body: Array("hold the bridge".utf8)),
        LogEntry(destination: "/topic/empty", headers: [], body: []),
        LogEntry(destination: "/topic/binary", headers: [LogHeader("content-length", "6")], body: [0, 0, 0xFF, 0, 0x4D, 0]),
        LogEntry(destination: "/topic/漢字.Ünïcødé.🚩", headers: [LogHeader("名前", "値 ✓ 🧭"), LogHeader("", "")],
                 body: Array("bannière 🏳️ 旗".utf8)),
        LogEntry(destination: "", headers: [LogHeader("empty-value", "")], body: [UInt8](repeating: 0xAB, count: 70_000)),
    ]

    @Test(arguments: 0..<entries.count)
    func encodedRecordDecodesToTheSameEntry(_ index: Int) throws {
        let entry = Self.entries[index]
        let (bytes, chain) = encode(entry)
        let record = try #require(decodedRecord(bytes))
        #expect(record.destination == entry.destination)
        #expect(record.headers == entry.headers)
        #expect(record.body == entry.body)
        #expect(record.kind == .message)
        #expect(record.offset == 41)
        #expect(record.timestamp == 1_786_000_000_123)
        #expect(record.size == bytes.count)
        #expect(record.chain == chain)
        // The chain hash covers the record's content and the previous hash.
        #expect(bytes.withUnsafeBytes { RecordFormat.chainHash(of: $0, previous: previous) } == chain)
        #expect(bytes.withUnsafeBytes { RecordFormat.chainHash(of: $0, previous: .genesis) } != chain)
    }

    @Test func layoutMatchesTheDocumentedOffsets() throws {
        let entry = LogEntry(destination: "/q/a", headers: [LogHeader("h", "v")], body: [9, 8, 7])
        let (bytes, chain) = encode(entry, offset: 0x0102_0304_0506_0708, timestamp: -5)
        let expectedPayload: [UInt8] = [4, 0] + Array("/q/a".utf8) + [1, 0] + [1, 0, UInt8(ascii: "h"), 1, 0, 0, 0, UInt8(ascii: "v")]
            + [3, 0, 0, 0, 9, 8, 7]
        #expect(bytes.count == 64 + expectedPayload.count)
        bytes.withUnsafeBytes { raw in
            #expect(raw.loadLE(UInt32.self, at: 0) == 0x4345_524D)
            #expect(Array(raw[0..<4]) == Array("MREC".utf8))
            #expect(raw[4] == 1)
            #expect(raw[5] == RecordKind.message.rawValue)
            #expect(raw.loadLE(UInt16.self, at: 6) == 0)
            #expect(Int(raw.loadLE(UInt32.self, at: 8)) == bytes.count)
            #expect(raw.loadLE(UInt32.self, at: 12) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[16...])))
            #expect(raw.loadLE(UInt64.self, at: 16) == 0x0102_0304_0506_0708)
            #expect(Int64(bitPattern: raw.loadLE(UInt64.self, at: 24)) == -5)
            #expect(Array(raw[32..<64]) == chain.bytes)
            #expect(Array(raw[64...]) == expectedPayload)
        }
    }

    @Test func recordsEncodedBackToBackDecodeOneAfterAnother() throws {
        var buffer: [UInt8] = []
        var chain = ChainHash.genesis
        for (offset, entry) in Self.entries.enumerated() {
            chain = RecordFormat.encode(entry, offset: UInt64(offset), timestamp: 10, previous: chain, into: &buffer)
        }
        var position = 0
        var previous = ChainHash.genesis
        for (offset, entry) in Self.entries.enumerated() {
            guard case .record(let record) = decode(buffer[position...]) else {
                Issue.record("no record at byte \(position)")
                return
            }
            #expect(record.offset == UInt64(offset))
            #expect(record.body == entry.body)
            let expected = buffer[position..<position + record.size].withUnsafeBytes { RecordFormat.chainHash(of: $0, previous: previous) }
            #expect(record.chain == expected)
            previous = record.chain
            position += record.size
        }
        #expect(position == buffer.count)
        #expect(previous == chain)
    }

    @Test func everyTruncatedPrefixIsIncomplete() {
        let (bytes, _) = encode(Self.entries[0])
        for count in 0..<bytes.count {
            switch decode(bytes[..<count]) {
            case .incomplete(let needed):
                #expect(needed == (count < 64 ? 64 : bytes.count), "prefix of \(count) bytes")
                #expect(needed > count)
            case let other:
                Issue.record("a prefix of \(count) of \(bytes.count) bytes decoded as \(other)")
            }
        }
    }

    @Test func anyChangedByteAfterTheLengthIsACRCMismatch() {
        let (bytes, _) = encode(Self.entries[3])
        for index in 12..<bytes.count {
            var damaged = bytes
            damaged[index] ^= 0x20
            guard case .invalid(let reason) = decode(damaged[...]) else {
                Issue.record("flipping byte \(index) went unnoticed")
                continue
            }
            #expect(reason.contains("CRC mismatch"), "byte \(index): \(reason)")
        }
    }

    @Test func badMagicVersionKindAndLengthAreInvalid() {
        let (bytes, _) = encode(Self.entries[0])
        func invalid(_ edit: (inout [UInt8]) -> Void, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
            var damaged = bytes
            edit(&damaged)
            guard case .invalid(let reason) = decode(damaged[...]) else {
                Issue.record("accepted: expected '\(expected)'", sourceLocation: sourceLocation)
                return
            }
            #expect(reason.contains(expected), "\(reason)", sourceLocation: sourceLocation)
        }
        invalid({ $0[0] = 0 }, "bad magic")
        invalid({ $0[4] = 2 }, "version 2 is not supported")
        invalid({ $0[5] = 0 }, "unknown record kind 0")
        invalid({ $0.replaceSubrange(8..<12, with: [0, 0, 0, 0]) }, "impossible record length 0")
        invalid({ $0.replaceSubrange(8..<12, with: [71, 0, 0, 0]) }, "impossible record length 71")
        invalid({ $0.replaceSubrange(8..<12, with: [1, 0, 0, 0x40]) }, "impossible record length")
        invalid({ $0.replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0xFF]) }, "impossible record length")
    }

    @Test func randomGarbageIsNeverARecordAndNeverCrashes() {
        var generator = SeededGenerator(seed: 2026)
        for round in 0..<3000 {
            var garbage = [UInt8].random(count: Int.random(in: 0...600, using: &generator), using: &generator)
            if round % 3 == 1 && garbage.count >= 16 {
                // A plausible start (magic, version, kind, a length that fits) so that the CRC is what fails.
                garbage.replaceSubrange(0..<6, with: [0x4D, 0x52, 0x45, 0x43, 1, 1])
                let length = UInt32(Int.random(in: 72...max(72, garbage.count), using: &generator))
                withUnsafeBytes(of: length.littleEndian) { garbage.replaceSubrange(8..<12, with: $0) }
            }
            switch decode(garbage[...]) {
            case .invalid, .incomplete: break
            case .record(let record): Issue.record("round \(round): \(garbage.count) random bytes decoded as offset \(record.offset)")
            }
        }
    }

    @Test func garbagePayloadsBehindAValidCRCAreRejectedWithoutCrashing() {
        // The CRC is correct, so decoding reaches the payload parser, which must never read past the record.
        var generator = SeededGenerator(seed: 99)
        var records = 0
        for _ in 0..<5000 {
            let payload = [UInt8].random(count: Int.random(in: 0...40, using: &generator), using: &generator)
            var bytes: [UInt8] = []
            bytes.append(le: RecordFormat.magic)
            bytes += [1, 1, 0, 0]
            bytes.append(le: UInt32(64 + payload.count))
            bytes.append(le: UInt32(0))
            bytes += [UInt8](repeating: 0, count: 48) + payload
            let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[16...])) }
            withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(12..<16, with: $0) }
            switch decode(bytes[...]) {
            case .invalid(let reason):
                #expect(reason.contains("payload") || reason.contains("impossible record length"), "\(reason)")
            case .incomplete(let needed):
                Issue.record("a whole record of \(bytes.count) bytes was called incomplete (needs \(needed))")
            case .record(let record):
                // Only a payload that happens to be well formed may decode, and then it must re-encode to the same bytes.
                records += 1
                var again: [UInt8] = []
                _ = RecordFormat.encode(record.entry, offset: 0, timestamp: 0, previous: .genesis, into: &again)
                #expect(Array(again[64...]) == payload)
            }
        }
        #expect(records < 5000)
    }
}
