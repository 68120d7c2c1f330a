extension JSONByteParser {
    /// Parses a string starting at its opening quote, validating UTF-8 and escapes.
    mutating func parseString() throws(JSONSyntaxError) -> String {
        let start = position
        position += 1
        // Fast path: no escapes, so the string is a slice of the input.
        let contentStart = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[contentStart..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            try acceptStringByte(byte)
        }
        guard position < bytes.count else { throw unterminatedString(startedAt: start) }
        var decoded = Array(UnsafeBufferPointer(rebasing: bytes[contentStart..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: decoded, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                try appendEscape(to: &decoded)
            } else {
                let sequenceStart = position
                try acceptStringByte(byte)
                decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[sequenceStart..<position]))
            }
        }
        throw unterminatedString(startedAt: start)
    }

    private func unterminatedString(startedAt start: Int) -> JSONSyntaxError {
        JSONSyntaxError(offset: bytes.count, problem: "unterminated string (it starts at byte \(start))")
    }

    /// Accepts one unescaped character (an ASCII byte or a whole UTF-8 sequence) and moves past it.
    private mutating func acceptStringByte(_ byte: UInt8) throws(JSONSyntaxError) {
        if byte < 0x20 {
            throw failure("control character U+\(hex4(UInt32(byte))) must be escaped in a string")
        }
        if byte < 0x80 {
            position += 1
            return
        }
        // Unicode 15, table 3-7: the well-formed UTF-8 byte sequences.
        let continuation: [ClosedRange<UInt8>]
        switch byte {
        case 0xC2...0xDF: continuation = [0x80...0xBF]
        case 0xE0: continuation = [0xA0...0xBF, 0x80...0xBF]
        case 0xE1...0xEC, 0xEE...0xEF: continuation = [0x80...0xBF, 0x80...0xBF]
        case 0xED: continuation = [0x80...0x9F, 0x80...0xBF]
        case 0xF0: continuation = [0x90...0xBF, 0x80...0xBF, 0x80...0xBF]
        case 0xF1...0xF3: continuation = [0x80...0xBF, 0x80...0xBF, 0x80...0xBF]
        case 0xF4: continuation = [0x80...0x8F, 0x80...0xBF, 0x80...0xBF]
        default: throw failure("invalid UTF-8: byte 0x\(String(byte, radix: 16, uppercase: true)) cannot start a character")
        }
        for (index, allowed) in continuation.enumerated() {
            let offset = position + 1 + index
            guard offset < bytes.count, allowed.contains(bytes[offset]) else {
                throw failure("invalid UTF-8 sequence in a string")
            }
        }
        position += 1 + continuation.count
    }

    private mutating func appendEscape(to decoded: inout [UInt8]) throws(JSONSyntaxError) {
        let escapeStart = position
        position += 1
        guard let letter = peek() else { throw failure("unterminated escape sequence") }
        position += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(letter)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try readHexUnit(escapeStart: escapeStart)
            let scalarValue: UInt32
            switch unit {
            case 0xD800...0xDBFF:
                guard peek() == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                    throw JSONSyntaxError(offset: escapeStart, problem: "lone surrogate \\u\(hex4(unit)): a high surrogate must be followed by a \\u low surrogate")
                }
                let lowStart = position
                position += 2
                let low = try readHexUnit(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONSyntaxError(offset: escapeStart, problem: "lone surrogate \\u\(hex4(unit)): it is followed by \\u\(hex4(low)), not a low surrogate")
                }
                scalarValue = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            case 0xDC00...0xDFFF:
                throw JSONSyntaxError(offset: escapeStart, problem: "lone surrogate \\u\(hex4(unit)): a low surrogate must follow a high surrogate")
            default:
                scalarValue = unit
            }
            appendUTF8(scalarValue, to: &decoded)
        default:
            throw JSONSyntaxError(offset: escapeStart, problem: "invalid escape \\\(describeEscapeLetter(letter)) in a string")
        }
    }

    /// Reads the four hex digits after `\u`.
    private mutating func readHexUnit(escapeStart: Int) throws(JSONSyntaxError) -> UInt32 {
        var unit: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek(), let digit = hexValue(byte) else {
                throw JSONSyntaxError(offset: escapeStart, problem: "\\u must be followed by four hex digits")
            }
            unit = unit << 4 | digit
            position += 1
        }
        return unit
    }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private func describeEscapeLetter(_ letter: UInt8) -> String {
        letter >= 0x21 && letter < 0x7F ? String(Character(Unicode.Scalar(letter))) : "(byte 0x\(String(letter, radix: 16, uppercase: true)))"
    }

    private func appendUTF8(_ scalar: UInt32, to decoded: inout [UInt8]) {
        switch scalar {
        case ..<0x80:
            decoded.append(UInt8(scalar))
        case ..<0x800:
            decoded.append(UInt8(0xC0 | scalar >> 6))
            decoded.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            decoded.append(UInt8(0xE0 | scalar >> 12))
            decoded.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            decoded.append(UInt8(0x80 | scalar & 0x3F))
        default:
            decoded.append(UInt8(0xF0 | scalar >> 18))
            decoded.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            decoded.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            decoded.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    private func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
