/// Serialises frames to STOMP 1.2 wire bytes.
public enum StompFrameEncoder {
    /// A heart-beat: a single EOL sent between frames.
    public static let heartbeat: [UInt8] = [0x0A]

    /// Encodes a frame. Escapes header names/values (\\ \n \r \c) except for CONNECT and CONNECTED frames (STOMP 1.2 rule).
    /// Adds `content-length` when the body is non-empty and the header is absent.
    ///
    /// A `content-length` header already present is written as given. CONNECT and CONNECTED
    /// headers cannot carry LF, CR or a colon in a name, since STOMP 1.2 gives them no escaping.
    public static func encode(_ frame: StompFrame) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(estimatedByteCount(of: frame))
        encode(frame, into: &buffer)
        return buffer
    }

    /// Appends the encoded frame to `buffer`, so many frames can share one write buffer.
    public static func encode(_ frame: StompFrame, into buffer: inout [UInt8]) {
        let lineFeed = StompHeaderEscaping.lineFeed
        let escaping = frame.command.escapesHeaders
        buffer.append(contentsOf: frame.command.rawValue.utf8)
        buffer.append(lineFeed)
        for header in frame.headers {
            StompHeaderEscaping.append(header.name, escaping: escaping, to: &buffer)
            buffer.append(StompHeaderEscaping.colon)
            StompHeaderEscaping.append(header.value, escaping: escaping, to: &buffer)
            buffer.append(lineFeed)
        }
        if !frame.body.isEmpty && !frame.headers.contains("content-length") {
            buffer.append(contentsOf: "content-length:".utf8)
            buffer.append(contentsOf: String(frame.body.count).utf8)
            buffer.append(lineFeed)
        }
        buffer.append(lineFeed)
        buffer.append(contentsOf: frame.body)
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
