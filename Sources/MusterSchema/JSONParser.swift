/// Strict RFC 8259 JSON parsing of UTF-8 bytes.
///
/// Refuses everything the RFC does not allow (comments, trailing commas, leading zeros,
/// NaN, lone surrogates, raw control characters in strings, a byte order mark) and, beyond
/// the RFC, duplicate keys and nesting deeper than `maximumDepth`, so that a message body
/// has exactly one meaning.
public enum JSONParser {
    /// Arrays and objects nested deeper than this are refused.
    public static let maximumDepth = 128

    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONSyntaxError) in try JSONByteParser.parse(buffer) }
        }
        if let contiguous { return try contiguous.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in try JSONByteParser.parse(buffer) }
        }.get()
    }

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(text.utf8)
    }
}
