/// STOMP header value encoding (1.2; 1.1 and 1.0 as `StompVersion` says): `\\`, `\n`, `\r` and `\c` (colon); any other escape is fatal.
enum StompHeaderEscaping {
    static let backslash: UInt8 = 0x5C
    static let colon: UInt8 = 0x3A
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20

    /// Appends `text` as UTF-8, escaping the four special octets when `escaping` is true.
    static func append(_ text: String, escaping: Bool, to buffer: inout [UInt8]) {
        append(text, version: .v1_2, escaping: escaping, to: &buffer)
    }

    /// Appends `text` as UTF-8 as `version` writes a header of a frame whose headers are
    /// escaped (`escaping`; CONNECT and CONNECTED are written as they are). What a version cannot
    /// write becomes a space: LF and CR in 1.0, CR in 1.1 (see `StompVersion`).
    static func append(_ text: String, version: StompVersion, escaping: Bool, to buffer: inout [UInt8]) {
        guard escaping, containsEscapable(text) else {
            buffer.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            switch (byte, version) {
            case (lineFeed, .v1_0), (carriageReturn, .v1_0), (carriageReturn, .v1_1): buffer.append(space)
            case (_, .v1_0): buffer.append(byte)
            case (backslash, _): buffer.append(backslash); buffer.append(backslash)
            case (lineFeed, _): buffer.append(backslash); buffer.append(0x6E)  // n
            case (carriageReturn, _): buffer.append(backslash); buffer.append(0x72)  // r
            case (colon, _): buffer.append(backslash); buffer.append(0x63)  // c
            default: buffer.append(byte)
            }
        }
    }

    /// Decodes header bytes into a `String`, undoing escapes when `unescaping` is true.
    static func decode(_ bytes: ArraySlice<UInt8>, unescaping: Bool) throws(StompFrameError) -> String {
        try decode(bytes, version: .v1_2, unescaping: unescaping)
    }

    /// Decodes header bytes as `version` wrote them: 1.2 undoes all four escapes, 1.1 all but
    /// `\r` (which it does not define), 1.0 none (a backslash is itself).
    static func decode(_ bytes: ArraySlice<UInt8>, version: StompVersion, unescaping: Bool) throws(StompFrameError) -> String {
        guard unescaping, version != .v1_0, bytes.contains(backslash) else {
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
            case 0x72 where version == .v1_2: unescaped.append(carriageReturn)  // r
            case 0x63: unescaped.append(colon)  // c
            default: throw .invalidEscape("\\" + String(decoding: CollectionOfOne(escaped), as: UTF8.self))
            }
        }
        return try validated(unescaped[...])
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == backslash || byte == lineFeed || byte == carriageReturn || byte == colon
    }

    /// Scans the contiguous UTF-8 when the string has it (native strings do): iterating
    /// `String.UTF8View` byte by byte was the export stream's largest cost (every header of
    /// every MESSAGE is scanned).
    private static func containsEscapable(_ text: String) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { $0.contains(where: needsEscape) } ?? text.utf8.contains(where: needsEscape)
    }

    /// All-ASCII bytes (nearly every header) are valid UTF-8 as they are: checked in one pass over
    /// the buffer, which skips the generic validation (and its metadata look-ups) per header.
    private static func validated(_ bytes: ArraySlice<UInt8>) throws(StompFrameError) -> String {
        let ascii = bytes.withUnsafeBufferPointer { buffer -> String? in
            buffer.allSatisfy { $0 < 0x80 } ? String(decoding: buffer, as: UTF8.self) : nil
        }
        if let ascii { return ascii }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }
}
