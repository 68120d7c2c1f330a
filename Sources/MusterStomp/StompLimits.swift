/// Size limits the decoder enforces so that a peer cannot make it buffer without bound.
public struct StompLimits: Sendable, Equatable {
    /// Whole frame: command line, headers, body and the terminating NUL.
    public var maxFrameBytes: Int
    /// Header entries per frame, repeats included.
    public var maxHeaderCount: Int
    /// One header line, without its LF or CRLF ending.
    public var maxHeaderLineBytes: Int
    /// Frame body, with or without `content-length`.
    public var maxBodyBytes: Int

    public init(
        maxFrameBytes: Int = 4 * 1024 * 1024 + 64 * 1024,
        maxHeaderCount: Int = 64,
        maxHeaderLineBytes: Int = 8 * 1024,
        maxBodyBytes: Int = 4 * 1024 * 1024
    ) {
        self.maxFrameBytes = maxFrameBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderLineBytes = maxHeaderLineBytes
        self.maxBodyBytes = maxBodyBytes
    }

    public static let `default` = StompLimits()
}
