@testable import MusterStomp
import Testing

/// The word-at-a-time search must agree with a plain byte-by-byte scan everywhere.
@Suite("Byte search")
struct ByteSearchTests {
    @Test func findsTheFirstMatchAtEveryPositionAndAlignment() {
        for length in 0..<40 {
            for position in 0..<length {
                // 0x01 above the match and 0x80 bytes are what fool a careless zero-byte test.
                var bytes = [UInt8](repeating: 0x80, count: length)
                bytes[position] = 0
                if position + 1 < length { bytes[position + 1] = 0x01 }
                if position + 2 < length { bytes[position + 2] = 0 }

                for start in 0...position {
                    let found = ByteSearch.firstIndex(of: 0, in: bytes, range: start..<length)
                    #expect(found == position, "length \(length), match \(position), start \(start)")
                }
            }
        }
    }

    @Test func ignoresMatchesOutsideTheRange() {
        let bytes: [UInt8] = [0x0A] + Array(repeating: 0x61, count: 20) + [0x0A]

        #expect(ByteSearch.firstIndex(of: 0x0A, in: bytes, range: 1..<21) == nil)
        #expect(ByteSearch.firstIndex(of: 0x0A, in: bytes, range: 1..<22) == 21)
    }

    @Test(arguments: 0...255)
    func findsEveryByteValue(_ value: Int) {
        var generator = SeededGenerator(seed: UInt64(value))
        let bytes = (0..<100).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let target = UInt8(value)

        let found = ByteSearch.firstIndex(of: target, in: bytes, range: 3..<100)

        #expect(found == bytes[3...].firstIndex(of: target))
    }
}
