/// When publishers wait for fan-out: while the consumers that could take messages now (a
/// subscriber with room in its prefetch window and a connection that is not backed up) are
/// more than `limit` log records behind the log's end, the broker stops reading publishers'
/// sockets (their SENDs wait in the kernel and the client's TCP window; none is dropped) and
/// reads them again once the lag is down to half the limit. A slow or absent subscriber does
/// not count: its messages wait in the log, and it must not stop everyone else's publishing.
public struct PublisherFlowControl: Sendable {
    public enum Change: Equatable, Sendable {
        case pause
        case resume
    }

    /// Log records fan-out may lag before publishers wait.
    public let limit: UInt64
    public private(set) var paused = false

    public static let defaultLimit: UInt64 = 20_000

    public init(limit: UInt64 = Self.defaultLimit) {
        self.limit = limit
    }

    /// The lag now (the pump measures it at each step); what changes for publishers, if anything.
    public mutating func observe(lag: UInt64) -> Change? {
        if !paused, lag > limit {
            paused = true
            return .pause
        }
        if paused, lag <= limit / 2 {
            paused = false
            return .resume
        }
        return nil
    }
}
