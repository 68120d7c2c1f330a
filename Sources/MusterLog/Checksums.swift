import CChecksum

/// CRC32C over raw bytes (hardware-accelerated where available).
enum CRC32C {
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        muster_crc32c(crc, bytes.baseAddress, bytes.count)
    }
}

/// A SHA-256 chain hash: 32 bytes.
public struct ChainHash: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    /// The anchor before the first record of a log.
    public static let genesis = ChainHash(bytes: [UInt8](repeating: 0, count: byteCount))

    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "a chain hash has 32 bytes")
        self.bytes = bytes
    }

    /// Parses 64 hexadecimal digits.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == Self.byteCount * 2 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    public var hex: String {
        let alphabet = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(Self.byteCount * 2)
        for byte in bytes {
            text.append(alphabet[Int(byte >> 4)])
            text.append(alphabet[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { hex }

    /// SHA-256(previous ‖ parts...), with OpenSSL's libcrypto (through CChecksum, on this thread's digest context).
    static func link(previous: ChainHash, _ parts: UnsafeRawBufferPointer...) -> ChainHash {
        var ok = muster_sha256_begin() == 1
        previous.bytes.withUnsafeBytes { ok = ok && muster_sha256_update($0.baseAddress, $0.count) == 1 }
        for part in parts where part.count > 0 {
            ok = ok && muster_sha256_update(part.baseAddress, part.count) == 1
        }
        var digest = [UInt8](repeating: 0, count: byteCount)
        ok = ok && digest.withUnsafeMutableBufferPointer { muster_sha256_finish($0.baseAddress) } == 1
        // SHA-256 in libcrypto fails only if the library itself is broken.
        precondition(ok, "OpenSSL SHA-256 failed")
        return ChainHash(bytes: digest)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
