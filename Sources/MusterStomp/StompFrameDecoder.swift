/// Incremental STOMP frame decoder for one connection.
///
/// Bytes are appended as they arrive and frames are pulled with `next()`. Scanning resumes where it
/// stopped, so a frame arriving in many small reads is still read once. Limits are enforced while a
/// frame is incomplete, so a peer streaming an endless line or body is refused early instead of buffered.
public struct StompFrameDecoder: Sendable {
    enum Phase: Sendable {
        /// Skipping heart-beat EOLs until a command line starts.
        case betweenFrames
        case commandLine
        case headers
        case body
    }

    let limits: StompLimits
    /// How header escapes are read (1.2 until the session negotiated another version; set it
    /// after the CONNECT frame, before decoding the next).
    public var version = StompVersion.v1_2
    /// Received bytes; everything before `frameStart` is consumed and dropped on the next compaction.
    var buffer: [UInt8] = []
    /// First byte of the frame being decoded (or of the heart-beats before it).
    var frameStart = 0
    var phase = Phase.betweenFrames
    /// First byte of the line being read (command or header line).
    var lineStart = 0
    /// Where the search for the current line's LF or the body's NUL resumes.
    var scanIndex = 0
    var bodyStart = 0
    var command = StompCommand.send
    var headers = StompHeaders()
    /// From the first `content-length` header of the current frame; later repeats are ignored.
    var contentLength: Int?
    /// Set by the first error: the stream cannot be resynchronised, so every later call rethrows it.
    var failure: StompFrameError?
    /// How many headers the last frame had (at least 8).
    var lastHeaderCount = 8
    /// Header names this connection sent, kept to be shared (see `StompHeaderNames`).
    var names = StompHeaderNames()

    public init(limits: StompLimits = .default) {
        self.limits = limits
    }

    /// Bytes received but not yet returned as frames or skipped as heart-beats.
    public var bufferedByteCount: Int { buffer.count - frameStart }

    /// Buffers received bytes (copied). Ignored once the decoder has failed.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, !bytes.isEmpty else { return }
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Convenience for arrays and slices; same as the raw-buffer variant.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        guard failure == nil else { return }
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Next complete frame, or nil if more bytes are needed. Heart-beat EOLs (\n or \r\n) between frames are skipped.
    /// After a throw the decoder is poisoned (keeps throwing the same error): the connection must be closed.
    public mutating func next() throws(StompFrameError) -> StompFrame? {
        if let failure { throw failure }
        do throws(StompFrameError) {
            return try decodeNextFrame()
        } catch {
            failure = error
            // Nothing more will be decoded, so release the memory now rather than at close.
            buffer = []
            frameStart = 0
            throw error
        }
    }

    private mutating func decodeNextFrame() throws(StompFrameError) -> StompFrame? {
        while true {
            switch phase {
            case .betweenFrames:
                guard skipHeartbeats() else { return nil }
                lineStart = frameStart
                scanIndex = frameStart
                phase = .commandLine
            case .commandLine:
                guard let line = try nextCommandLine() else { return nil }
                try readCommand(contentEnd: line.contentEnd)
                startLine(at: line.next)
                headers = StompHeaders()
                // As many as the connection's last frame had: a frame's list then grows at most once.
                headers.entries.reserveCapacity(lastHeaderCount)
                contentLength = nil
                phase = .headers
            case .headers:
                guard let line = try nextHeaderLine() else { return nil }
                if line.contentEnd == lineStart {
                    try finishHeaders(bodyStart: line.next)
                    phase = .body
                } else {
                    try readHeader(contentEnd: line.contentEnd)
                    startLine(at: line.next)
                }
            case .body:
                guard let frame = try nextBody() else { return nil }
                phase = .betweenFrames
                return frame
            }
        }
    }

    private mutating func startLine(at index: Int) {
        lineStart = index
        scanIndex = index
    }

    /// Consumes LF and CRLF heart-beats; false when the buffer ends first (possibly inside a CRLF).
    private mutating func skipHeartbeats() -> Bool {
        while frameStart < buffer.count {
            switch buffer[frameStart] {
            case StompHeaderEscaping.lineFeed:
                frameStart += 1
            case StompHeaderEscaping.carriageReturn:
                guard frameStart + 1 < buffer.count else { return false }
                guard buffer[frameStart + 1] == StompHeaderEscaping.lineFeed else { return true }
                frameStart += 2
            default:
                return true
            }
        }
        return false
    }

    /// Drops consumed bytes once that is cheap relative to what was consumed (amortised O(1) per byte).
    private mutating func compactIfWorthwhile() {
        guard frameStart > 0 else { return }
        let remaining = buffer.count - frameStart
        if remaining == 0 {
            // One huge frame must not pin its buffer for the rest of the connection.
            if buffer.capacity > Self.retainedCapacity {
                buffer = []
            } else {
                buffer.removeAll(keepingCapacity: true)
            }
        } else if frameStart >= Self.minimumCompaction && frameStart >= remaining {
            buffer.removeSubrange(0..<frameStart)
        } else {
            return
        }
        lineStart -= frameStart
        scanIndex -= frameStart
        bodyStart -= frameStart
        frameStart = 0
    }

    private static let retainedCapacity = 256 * 1024
    private static let minimumCompaction = 4 * 1024
}
