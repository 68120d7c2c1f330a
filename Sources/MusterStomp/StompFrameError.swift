/// Why a byte stream is not valid STOMP 1.2. Every case is fatal to the connection.
public enum StompFrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The command line names no STOMP 1.2 command (an overlong line is cut to its first bytes).
    case unknownCommand(String)
    /// A header line without ':' or with an empty name.
    case malformedHeader(String)
    /// An escape sequence STOMP 1.2 does not define, such as `\t`.
    case invalidEscape(String)
    /// The command or a header is not valid UTF-8.
    case invalidUTF8
    case frameTooLarge(limit: Int)
    case tooManyHeaders(limit: Int)
    case headerTooLarge(limit: Int)
    case bodyTooLarge(limit: Int)
    /// The first `content-length` header is not a non-negative decimal integer.
    case invalidContentLength(String)
    /// The byte after a `content-length` body is not NUL.
    case missingNullTerminator

    public var description: String {
        switch self {
        case .unknownCommand(let command):
            "unknown STOMP command \(Self.excerpt(command)); "
                + "send a STOMP 1.2 command such as CONNECT, SEND or SUBSCRIBE (is the peer speaking STOMP?)"
        case .malformedHeader(let line):
            "header line \(Self.excerpt(line)) has no ':' or an empty name; send headers as name:value"
        case .invalidEscape(let sequence):
            "header contains the undefined escape sequence \(Self.excerpt(sequence)); "
                + "escape only backslash (\\\\), line feed (\\n), carriage return (\\r) and colon (\\c)"
        case .invalidUTF8:
            "frame command or header is not valid UTF-8; encode commands and headers as UTF-8"
        case .frameTooLarge(let limit):
            "frame exceeds the \(limit)-byte limit; send smaller frames or raise limits.max-frame-bytes"
        case .tooManyHeaders(let limit):
            "frame has more than \(limit) headers; send fewer headers or raise limits.max-header-count"
        case .headerTooLarge(let limit):
            "header line exceeds the \(limit)-byte limit; shorten the header or raise limits.max-header-bytes"
        case .bodyTooLarge(let limit):
            "frame body exceeds the \(limit)-byte limit; send smaller messages or raise limits.max-body-bytes"
        case .invalidContentLength(let value):
            "content-length \(Self.excerpt(value)) is not a non-negative decimal integer; "
                + "send the body's byte count as plain digits"
        case .missingNullTerminator:
            "the byte after the content-length body is not NUL; "
                + "make content-length equal the body's exact byte count"
        }
    }

    /// Quoted, control characters escaped and cut short, so peer-supplied text cannot flood or forge log lines.
    private static func excerpt(_ text: String) -> String {
        let maximumCharacters = 64
        guard text.count > maximumCharacters else { return text.debugDescription }
        return String(text.prefix(maximumCharacters)).debugDescription + "…"
    }
}
