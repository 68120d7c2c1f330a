/// STOMP 1.2 header value encoding: `\\`, `\n`, `\r` and `\c` (colon); any other escape is fatal.
enum StompHeaderEscaping {
    static let backslash: UInt8 = 0x5C
    static let colon: UInt8 = 0x3A
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D

    /// Appends `text` as UTF-8, escaping the four special octets when `escaping` is true.
    static func append(_ text: String, escaping: Bool, to buffer: inout [UInt8]) {
        guard escaping, text.utf8.contains(where: needsEscape) else {
            buffer.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case backslash: buffer.append(backslash); buffer.append(backslash)
            case lineFeed: buffer.append(backslash); buffer.append(0x6E)  // n
            case carriageReturn: buffer.append(backslash); buffer.append(0x72)  // r
            case colon: buffer.append(backslash); buffer.append(0x63)  // c
            default: buffer.append(byte)
            }
        }
    }

    /// Decodes header bytes into a `String`, undoing escapes when `unescaping` is true.
    static func decode(_ bytes: ArraySlice<UInt8>, unescaping: Bool) throws(StompFrameError) -> String {
        guard unescaping, bytes.contains(backslash) else {
            return try validated(bytes)
        }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            guard byte == backslash else {
                unescaped.append(byte)
                continue
            }
            guard index < bytes.endIndex else { throw .invalidEscape("\\") }
            let escaped = bytes[index]
            index += 1
            switch escaped {
            case backslash: unescaped.append(backslash)
            case 0x6E: unescaped.append(lineFeed)  // n
            case 0x72: unescaped.append(carriageReturn)  // r
            case 0x63: unescaped.append(colon)  // c
            default: throw .invalidEscape("\\" + String(decoding: CollectionOfOne(escaped), as: UTF8.self))
            }
        }
        return try validated(unescaped[...])
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == backslash || byte == lineFeed || byte == carriageReturn || byte == colon
    }

    private static func validated(_ bytes: ArraySlice<UInt8>) throws(StompFrameError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }
}
