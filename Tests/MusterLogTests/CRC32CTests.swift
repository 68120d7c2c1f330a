import CChecksum
import Testing
@testable import MusterLog

@Suite struct CRC32CTests {
    /// The hardware-accelerated path, as the log calls it.
    private func hardware(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { CRC32C.checksum($0, continuing: crc) }
    }

    /// The table (slicing-by-8) path alone.
    private func table(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { muster_crc32c_table(crc, $0.baseAddress, $0.count) }
    }

    // Check values from the CRC-32C catalogue and RFC 3720 (iSCSI), appendix B.4.
    static let vectors: [(String, [UInt8], UInt32)] = [
        ("\"123456789\"", Array("123456789".utf8), 0xE306_9283),
        ("32 zero bytes", [UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ("32 bytes of 0xFF", [UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ("bytes 0 to 31", (0..<32).map { UInt8($0) }, 0x46DD_794E),
        ("bytes 31 down to 0", (0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ("no bytes", [], 0),
    ]

    @Test func bothPathsGiveTheKnownCheckValues() {
        for (name, bytes, expected) in Self.vectors {
            #expect(hardware(bytes[...]) == expected, "hardware path, \(name)")
            #expect(table(bytes[...]) == expected, "table path, \(name)")
        }
    }

    @Test func hardwarePathEqualsTablePathForEveryLengthAndAlignment() {
        var generator = SeededGenerator(seed: 0xC0FFEE)
        let buffer = [UInt8].random(count: 70_000, using: &generator)
        var lengths = Array(0...300)
        lengths += [511, 512, 513, 1000, 4095, 4096, 4097, 65_535, 65_536, 65_537, 69_990]
        for length in lengths {
            // Every start alignment within an 8-byte word, so the 8-byte loops meet odd heads and tails.
            for start in 0..<8 {
                let slice = buffer[start..<start + length]
                let fast = hardware(slice)
                let slow = table(slice)
                #expect(fast == slow, "length \(length) at alignment \(start)")
                if fast != slow { return }
            }
        }
    }

    @Test func continuingFromAnyPrefixEqualsTheWholeChecksum() {
        var generator = SeededGenerator(seed: 42)
        for length in [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 255, 1024, 4099] {
            let bytes = [UInt8].random(count: length, using: &generator)
            let whole = table(bytes[...])
            var splits = Set([0, length, length / 2, 1, length - 1].filter { $0 >= 0 && $0 <= length })
            for _ in 0..<20 { splits.insert(Int.random(in: 0...length, using: &generator)) }
            for split in splits.sorted() {
                let head = bytes[..<split], tail = bytes[split...]
                #expect(hardware(tail, continuing: hardware(head)) == whole, "hardware, \(length) bytes split at \(split)")
                #expect(table(tail, continuing: table(head)) == whole, "table, \(length) bytes split at \(split)")
                // The two paths continue each other's results.
                #expect(table(tail, continuing: hardware(head)) == whole, "hardware then table, \(length) split at \(split)")
                #expect(hardware(tail, continuing: table(head)) == whole, "table then hardware, \(length) split at \(split)")
            }
        }
    }

    @Test func continuingInManySmallPiecesEqualsTheWholeChecksum() {
        var generator = SeededGenerator(seed: 7)
        let bytes = [UInt8].random(count: 10_000, using: &generator)
        let whole = hardware(bytes[...])
        #expect(whole == table(bytes[...]))
        var crc: UInt32 = 0
        var position = 0
        while position < bytes.count {
            let end = min(bytes.count, position + Int.random(in: 0...37, using: &generator))
            crc = hardware(bytes[position..<end], continuing: crc)
            position = end
        }
        #expect(crc == whole)
    }

    @Test func everySingleBitFlipChangesTheChecksum() {
        var bytes = Array("MusterLog record body".utf8)
        let original = hardware(bytes[...])
        for index in bytes.indices {
            for bit in 0..<8 {
                bytes[index] ^= 1 << bit
                #expect(hardware(bytes[...]) != original, "bit \(bit) of byte \(index)")
                bytes[index] ^= 1 << bit
            }
        }
    }
}
