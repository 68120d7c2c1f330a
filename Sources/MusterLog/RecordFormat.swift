/// The byte layout of a record. Every integer is fixed-width little-endian.
///
///     0   magic        u32   0x4345524D ("MREC")
///     4   version      u8    1
///     5   kind         u8    RecordKind
///     6   flags        u16   0 (reserved)
///     8   length       u32   whole record, header included
///     12  crc32c       u32   CRC32C of bytes [16, length)
///     16  offset       u64   position in the log, dense from 0
///     24  timestamp    i64   milliseconds since 1970, never decreasing
///     32  chain        32 B  SHA-256(previous chain ‖ bytes [4,8) ‖ bytes [16,32) ‖ payload)
///     64  payload:
///         destination  u16 length, UTF-8 bytes
///         header count u16
///         each header  u16 name length, name, u32 value length, value (UTF-8)
///         body         u32 length, bytes
///
/// The chain covers everything that means something (kind, position, time, destination,
/// headers, body), so editing, deleting, inserting or reordering records breaks it even
/// when the CRC is fixed up. Schemas/log-format.md documents the same layout.
enum RecordFormat {
    static let magic: UInt32 = 0x4345_524D
    static let version: UInt8 = 1
    static let headerSize = 64
    static let crcStart = 16
    static let chainStart = 32
    /// No record may claim more than this; a larger length is corruption, not a big message.
    static let maximumLength = 1 << 30

    /// Appends the encoded record to `buffer` and returns its chain hash.
    static func encode(_ entry: LogEntry, offset: UInt64, timestamp: Int64, previous: ChainHash,
                       into buffer: inout [UInt8]) -> ChainHash {
        let start = buffer.count
        buffer.append(le: magic)
        buffer.append(version)
        buffer.append(entry.kind.rawValue)
        buffer.append(le: UInt16(0))
        buffer.append(le: UInt32(0))  // length, patched below
        buffer.append(le: UInt32(0))  // crc, patched below
        buffer.append(le: offset)
        buffer.append(le: UInt64(bitPattern: timestamp))
        buffer.append(contentsOf: repeatElement(0, count: ChainHash.byteCount))
        appendString16(entry.destination, to: &buffer)
        buffer.append(le: UInt16(clamping: entry.headers.count))
        for header in entry.headers.prefix(Int(UInt16.max)) {
            appendString16(header.name, to: &buffer)
            buffer.append(le: UInt32(header.value.utf8.count))
            buffer.append(contentsOf: header.value.utf8)
        }
        buffer.append(le: UInt32(entry.body.count))
        buffer.append(contentsOf: entry.body)
        let length = buffer.count - start
        buffer.withUnsafeMutableBytes { raw in
            let record = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
            record.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 8, as: UInt32.self)
        }
        let chain = buffer.withUnsafeBytes { raw in
            chainHash(of: UnsafeRawBufferPointer(rebasing: raw[start..<start + length]), previous: previous)
        }
        buffer.withUnsafeMutableBytes { raw in
            chain.bytes.withUnsafeBytes { raw.baseAddress!.advanced(by: start + chainStart).copyMemory(from: $0.baseAddress!, byteCount: ChainHash.byteCount) }
        }
        let crc = buffer.withUnsafeBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start + crcStart..<start + length]))
        }
        buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: crc.littleEndian, toByteOffset: start + 12, as: UInt32.self)
        }
        return chain
    }

    /// The chain hash a record should carry, given its bytes and the previous record's chain.
    static func chainHash(of record: UnsafeRawBufferPointer, previous: ChainHash) -> ChainHash {
        ChainHash.link(previous: previous,
                       UnsafeRawBufferPointer(rebasing: record[4..<8]),
                       UnsafeRawBufferPointer(rebasing: record[16..<32]),
                       UnsafeRawBufferPointer(rebasing: record[headerSize...]))
    }

    enum Decoded {
        case record(LogRecord)
        /// Fewer bytes than the record needs: a torn write, or the buffer must grow.
        case incomplete(needed: Int)
        case invalid(String)
    }

    /// Decodes the record at the start of `bytes`, checking magic, length and CRC (not the chain).
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Decoded {
        guard bytes.count >= headerSize else { return .incomplete(needed: headerSize) }
        guard bytes.loadLE(UInt32.self, at: 0) == magic else { return .invalid("no record starts here (bad magic number)") }
        guard bytes[4] == version else { return .invalid("record version \(bytes[4]) is not supported (this build reads version \(version))") }
        let length = Int(bytes.loadLE(UInt32.self, at: 8))
        guard length >= headerSize + 8, length <= maximumLength else { return .invalid("impossible record length \(length)") }
        guard bytes.count >= length else { return .incomplete(needed: length) }
        let record = UnsafeRawBufferPointer(rebasing: bytes[0..<length])
        let stored = record.loadLE(UInt32.self, at: 12)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[crcStart...]))
        guard stored == computed else {
            return .invalid("CRC mismatch (stored \(hex32(stored)), computed \(hex32(computed)))")
        }
        guard let kind = RecordKind(rawValue: record[5]) else { return .invalid("unknown record kind \(record[5])") }
        var reader = PayloadReader(bytes: UnsafeRawBufferPointer(rebasing: record[headerSize...]))
        guard let destination = reader.string16(), let count = reader.u16() else { return .invalid("payload is cut short") }
        var headers: [LogHeader] = []
        headers.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let name = reader.string16(), let value = reader.string32() else { return .invalid("payload is cut short") }
            headers.append(LogHeader(name, value))
        }
        guard let body = reader.bytes32(), reader.isAtEnd else { return .invalid("payload length does not match the record length") }
        return .record(LogRecord(
            offset: record.loadLE(UInt64.self, at: 16),
            timestamp: Int64(bitPattern: record.loadLE(UInt64.self, at: 24)),
            chain: ChainHash(bytes: Array(record[chainStart..<chainStart + ChainHash.byteCount])),
            entry: LogEntry(kind: kind, destination: destination, headers: headers, body: body),
            size: length))
    }

    private static func appendString16(_ text: String, to buffer: inout [UInt8]) {
        let utf8 = text.utf8
        guard utf8.count <= Int(UInt16.max) else {
            buffer.append(le: UInt16.max)
            buffer.append(contentsOf: utf8.prefix(Int(UInt16.max)))
            return
        }
        buffer.append(le: UInt16(utf8.count))
        buffer.append(contentsOf: utf8)
    }

    static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// Reads length-prefixed fields of a payload, refusing to run past its end.
struct PayloadReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    var isAtEnd: Bool { position == bytes.count }

    mutating func u16() -> UInt16? {
        guard position + 2 <= bytes.count else { return nil }
        defer { position += 2 }
        return bytes.loadLE(UInt16.self, at: position)
    }

    mutating func u32() -> UInt32? {
        guard position + 4 <= bytes.count else { return nil }
        defer { position += 4 }
        return bytes.loadLE(UInt32.self, at: position)
    }

    mutating func raw(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count <= bytes.count - position else { return nil }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    mutating func string16() -> String? {
        guard let count = u16(), let raw = raw(Int(count)) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    mutating func string32() -> String? {
        guard let count = u32(), let raw = raw(Int(count)) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    mutating func bytes32() -> [UInt8]? {
        guard let count = u32(), let raw = raw(Int(count)) else { return nil }
        return Array(raw)
    }
}

extension Array where Element == UInt8 {
    mutating func append<T: FixedWidthInteger>(le value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    func loadLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
