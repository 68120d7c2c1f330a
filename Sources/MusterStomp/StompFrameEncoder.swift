/// Serialises frames to STOMP wire bytes (1.2 unless a version is given).
public enum StompFrameEncoder {
    /// A heart-beat: a single EOL sent between frames.
    public static let heartbeat: [UInt8] = [0x0A]

    /// Encodes a frame. Escapes header names/values (\\ \n \r \c) except for CONNECT and CONNECTED frames (STOMP 1.2 rule).
    /// Adds `content-length` when the body is non-empty and the header is absent.
    ///
    /// A `content-length` header already present is written as given. CONNECT and CONNECTED
    /// headers cannot carry LF, CR or a colon in a name, since STOMP 1.2 gives them no escaping.
    /// With `version` 1.1 or 1.0, headers are written as that version allows (`StompVersion`).
    public static func encode(_ frame: StompFrame, version: StompVersion = .v1_2) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(estimatedByteCount(of: frame))
        encode(frame, version: version, into: &buffer)
        return buffer
    }

    /// Appends the encoded frame to `buffer`, so many frames can share one write buffer.
    public static func encode(_ frame: StompFrame, version: StompVersion = .v1_2, into buffer: inout [UInt8]) {
        appendCommand(frame.command, into: &buffer)
        appendHeaders(frame.headers, of: frame.command, version: version, into: &buffer)
        appendHeaderEnd(bodyCount: frame.body.count, declaresLength: frame.headers.contains("content-length"), into: &buffer)
        appendBody(frame.body, into: &buffer)
    }

    // A frame can also be assembled from these parts, in this order, e.g. to encode the headers
    // that many frames share only once (`appendHeaders` may be called several times).

    /// The command line.
    public static func appendCommand(_ command: StompCommand, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: command.rawValue.utf8)
        buffer.append(StompHeaderEscaping.lineFeed)
    }

    /// Header lines, escaped as `command` and `version` require. In 1.0 a header whose name
    /// contains a colon cannot be written and is left out.
    public static func appendHeaders(_ headers: StompHeaders, of command: StompCommand, version: StompVersion = .v1_2,
                                     into buffer: inout [UInt8]) {
        let escaping = command.escapesHeaders
        for header in headers {
            if version == .v1_0, escaping, header.name.utf8.contains(StompHeaderEscaping.colon) { continue }
            StompHeaderEscaping.append(header.name, version: version, escaping: escaping, to: &buffer)
            buffer.append(StompHeaderEscaping.colon)
            StompHeaderEscaping.append(header.value, version: version, escaping: escaping, to: &buffer)
            buffer.append(StompHeaderEscaping.lineFeed)
        }
    }

    /// `content-length` for a non-empty body whose headers do not declare it, then the blank line.
    public static func appendHeaderEnd(bodyCount: Int, declaresLength: Bool, into buffer: inout [UInt8]) {
        if bodyCount > 0 && !declaresLength {
            buffer.append(contentsOf: "content-length:".utf8)
            buffer.append(contentsOf: String(bodyCount).utf8)
            buffer.append(StompHeaderEscaping.lineFeed)
        }
        buffer.append(StompHeaderEscaping.lineFeed)
    }

    /// The body and the NUL that ends the frame.
    public static func appendBody(_ body: [UInt8], into buffer: inout [UInt8]) {
        buffer.append(contentsOf: body)
        buffer.append(0)
    }

    /// Exact unless escapes are needed, so the common case allocates once.
    private static func estimatedByteCount(of frame: StompFrame) -> Int {
        var count = frame.command.rawValue.utf8.count + 1
        for header in frame.headers {
            count += header.name.utf8.count + header.value.utf8.count + 2
        }
        // Room for an added content-length line, the blank line and the NUL.
        return count + 40 + frame.body.count
    }
}
