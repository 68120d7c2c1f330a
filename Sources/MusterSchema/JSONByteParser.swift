/// The recursive-descent parser behind `JSONParser`, over a contiguous byte buffer.
struct JSONByteParser {
    let bytes: UnsafeBufferPointer<UInt8>
    /// The offset of the next byte to read.
    var position = 0
    private var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses one whole document: a value with optional whitespace around it.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONByteParser(bytes)
        return try parser.parseDocument()
    }

    private mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw JSONSyntaxError(offset: 0, problem: "a byte order mark is not allowed before JSON text")
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if position < bytes.count {
            throw failure("unexpected \(describeCurrentByte()) after the JSON value")
        }
        return value
    }

    // MARK: Values

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard position < bytes.count else { throw failure("expected a JSON value but found the end of the input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "N"), UInt8(ascii: "I"): throw failure("NaN and Infinity are not JSON numbers")
        case UInt8(ascii: "'"): throw failure("strings must be in double quotes")
        case UInt8(ascii: "/"): throw failure("comments are not allowed in JSON")
        default: throw failure("expected a JSON value but found \(describeCurrentByte())")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        position += 1
        var object = JSONObject([])
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(object)
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else {
                if peek() == UInt8(ascii: "}") { throw failure("trailing comma before '}'") }
                if peek() == UInt8(ascii: "/") { throw failure("comments are not allowed in JSON") }
                throw failure("expected a property name in double quotes but found \(describeCurrentByte())")
            }
            let keyOffset = position
            let key = try parseString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else {
                throw failure("expected ':' after the key '\(key)' but found \(describeCurrentByte())")
            }
            position += 1
            skipWhitespace()
            let value = try parseValue()
            if !object.insertNew(key, value) {
                throw JSONSyntaxError(offset: keyOffset, problem: "duplicate key '\(key)'")
            }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(object)
            default:
                throw failure("expected ',' or '}' after an object member but found \(describeCurrentByte())")
            }
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            if peek() == UInt8(ascii: "]") { throw failure("trailing comma before ']'") }
            elements.append(try parseValue())
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(elements)
            default:
                throw failure("expected ',' or ']' after an array element but found \(describeCurrentByte())")
            }
        }
    }

    private mutating func enterContainer() throws(JSONSyntaxError) {
        depth += 1
        if depth > JSONParser.maximumDepth {
            throw failure("arrays and objects are nested deeper than \(JSONParser.maximumDepth) levels")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for (index, byte) in expected.enumerated() where position + index >= bytes.count || bytes[position + index] != byte {
            throw failure("invalid literal; expected '\(literal)'")
        }
        position += expected.count
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = position
        var isSimpleInteger = true
        if peek() == UInt8(ascii: "-") {
            position += 1
            guard let byte = peek(), isDigit(byte) else {
                if peek() == UInt8(ascii: "I") { throw failure("NaN and Infinity are not JSON numbers") }
                throw failure("expected a digit after '-' but found \(describeCurrentByte())")
            }
        }
        if peek() == UInt8(ascii: "0") {
            position += 1
            if let byte = peek(), isDigit(byte) { throw failure("leading zeros are not allowed in numbers") }
        } else {
            skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            isSimpleInteger = false
            position += 1
            guard let byte = peek(), isDigit(byte) else {
                throw failure("expected a digit after the decimal point but found \(describeCurrentByte())")
            }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            isSimpleInteger = false
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard let byte = peek(), isDigit(byte) else {
                throw failure("expected a digit in the exponent but found \(describeCurrentByte())")
            }
            skipDigits()
        }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<position])
        // Up to 15 digits are exact in a Double, so short integers skip the general conversion.
        if isSimpleInteger, text.count <= 16 {
            var magnitude: Int64 = 0
            for byte in text where byte != UInt8(ascii: "-") { magnitude = magnitude * 10 + Int64(byte - UInt8(ascii: "0")) }
            if magnitude < 1 << 53 { return text.first == UInt8(ascii: "-") ? -Double(magnitude) : Double(magnitude) }
        }
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
            throw JSONSyntaxError(offset: start, problem: "the number \(String(decoding: text.prefix(40), as: UTF8.self)) is too large to represent")
        }
        return value
    }

    private mutating func skipDigits() {
        while let byte = peek(), isDigit(byte) { position += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    // MARK: Whitespace and diagnostics

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
            default: return
            }
        }
    }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    func failure(_ problem: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: position, problem: problem)
    }

    func describeCurrentByte() -> String {
        guard let byte = peek() else { return "the end of the input" }
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
}
