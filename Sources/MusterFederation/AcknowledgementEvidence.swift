/// When an exporter records, while a peer's link is up, how far the peer has acknowledged
/// (a link record `acknowledged` with the offset): once the position has moved and `interval`
/// has passed since the link came up or since the last such record. The link's `down` record
/// holds the final position, so at most one interval of acknowledgements lacks evidence while
/// the link is up, and none once it is down.
public struct AcknowledgementEvidence: Sendable {
    public let interval: Duration
    private var recorded: UInt64?
    private var since: ContinuousClock.Instant

    public init(interval: Duration, linkUp: ContinuousClock.Instant) {
        self.interval = interval
        self.since = linkUp
    }

    /// The offset to record now, if one is due; the caller records it.
    public mutating func due(acknowledgedThrough: UInt64?, now: ContinuousClock.Instant) -> UInt64? {
        guard let through = acknowledgedThrough, through != recorded, now - since >= interval else { return nil }
        recorded = through
        since = now
        return through
    }
}
