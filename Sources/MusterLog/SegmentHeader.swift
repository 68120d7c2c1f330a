import Glibc

/// The header at the start of every segment file (72 bytes, little-endian):
///
///     0   magic           8 B   "MUSTRLOG"
///     8   version         u16   1
///     10  reserved        u16   0
///     12  header size     u32   72
///     16  base offset     u64   offset of the segment's first record
///     24  created         i64   milliseconds since 1970
///     32  previous chain  32 B  chain hash of the record before the base offset (zeros at offset 0)
///     64  crc32c          u32   CRC32C of bytes [0, 64)
///     68  reserved        u32   0
///
/// Carrying the previous chain hash lets a log whose oldest segments were pruned still
/// verify from its first remaining segment.
struct SegmentHeader: Equatable {
    static let magic: [UInt8] = Array("MUSTRLOG".utf8)
    static let version: UInt16 = 1
    static let size = 72

    let baseOffset: UInt64
    let created: Int64
    let previousChain: ChainHash

    func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.append(le: Self.version)
        bytes.append(le: UInt16(0))
        bytes.append(le: UInt32(Self.size))
        bytes.append(le: baseOffset)
        bytes.append(le: UInt64(bitPattern: created))
        bytes.append(contentsOf: previousChain.bytes)
        let crc = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        bytes.append(le: crc)
        bytes.append(le: UInt32(0))
        return bytes
    }

    /// Parses a header, or says what is wrong with it.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<SegmentHeader, HeaderProblem> {
        guard bytes.count >= size else { return .failure(HeaderProblem(reason: "the segment header is cut short (\(bytes.count) of \(size) bytes)")) }
        guard Array(bytes[0..<8]) == magic else { return .failure(HeaderProblem(reason: "not a Muster log segment (bad magic)")) }
        let version = bytes.loadLE(UInt16.self, at: 8)
        guard version == Self.version else { return .failure(HeaderProblem(reason: "segment version \(version) is not supported (this build reads \(Self.version))")) }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<64]))
        guard crc == bytes.loadLE(UInt32.self, at: 64) else { return .failure(HeaderProblem(reason: "the segment header's CRC does not match")) }
        return .success(SegmentHeader(
            baseOffset: bytes.loadLE(UInt64.self, at: 16),
            created: Int64(bitPattern: bytes.loadLE(UInt64.self, at: 24)),
            previousChain: ChainHash(bytes: Array(bytes[32..<64]))))
    }
}

/// Segment files are named by their base offset, 20 digits, so that names sort as offsets do.
enum SegmentName {
    static let suffix = ".log"

    static func fileName(baseOffset: UInt64) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: 20 - digits.count) + digits + suffix
    }

    static func baseOffset(of fileName: String) -> UInt64? {
        guard fileName.hasSuffix(suffix), fileName.count == 20 + suffix.count else { return nil }
        return UInt64(fileName.dropLast(suffix.count))
    }
}

/// Why a segment header could not be read.
struct HeaderProblem: Error {
    let reason: String
}
