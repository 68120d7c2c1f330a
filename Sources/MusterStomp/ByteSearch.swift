/// Finds a byte eight at a time, because the decoder scans whole bodies for their NUL terminator.
enum ByteSearch {
    private static let lowBits: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Index of the first `byte` in `buffer[range]`, or nil when the range holds none.
    static func firstIndex(of byte: UInt8, in buffer: UnsafeBufferPointer<UInt8>, range: Range<Int>) -> Int? {
        guard let base = buffer.baseAddress, !range.isEmpty else { return nil }
        precondition(range.lowerBound >= 0 && range.upperBound <= buffer.count, "search range outside the buffer")
        let raw = UnsafeRawPointer(base)
        let pattern = lowBits &* UInt64(byte)
        var index = range.lowerBound
        while index &+ 8 <= range.upperBound {
            // Bytes equal to `byte` become zero; the classic "has a zero byte" test flags them, and
            // its lowest flag is always exact (false positives only appear above a true zero).
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) ^ pattern
            let zeroFlags = (word &- lowBits) & ~word & highBits
            if zeroFlags != 0 {
                return index &+ zeroFlags.trailingZeroBitCount / 8
            }
            index &+= 8
        }
        while index < range.upperBound {
            if base[index] == byte { return index }
            index &+= 1
        }
        return nil
    }

    /// Index of the first `byte` in `buffer[range]`, or nil when the range holds none.
    static func firstIndex(of byte: UInt8, in buffer: [UInt8], range: Range<Int>) -> Int? {
        buffer.withUnsafeBufferPointer { firstIndex(of: byte, in: $0, range: range) }
    }
}
