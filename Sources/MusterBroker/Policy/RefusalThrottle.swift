public import MusterProtocol

/// Refusals of connections (a certificate refused at the TLS handshake or after it) repeat as
/// fast as a client reconnects, and each would be a permanent record. Per kind (source, party,
/// rule, code), the first in an interval is recorded at once; the others are counted, and one
/// summary says how many when the interval ends. Refusals of messages and subscriptions end
/// their connection and are each recorded.
public struct RefusalThrottle: Sendable {
    struct Kind: Hashable {
        let source: String?
        let party: PartyIdentity?
        let rule: String
        let code: ErrorCode
    }

    struct Window {
        let start: Int64
        var repeated: Int
        let first: PolicyRefusal
    }

    /// A summary owed: `repeated` more refusals like `first` since `since`.
    public struct Summary: Sendable {
        public let first: PolicyRefusal
        public let repeated: Int
        public let since: Int64
    }

    public let interval: Int64
    private var windows: [Kind: Window] = [:]

    public init(intervalMilliseconds: Int64 = 60_000) {
        interval = intervalMilliseconds
    }

    /// Whether `refusal` is recorded now (or only counted).
    public mutating func admit(_ refusal: PolicyRefusal, now: Int64) -> Bool {
        guard refusal.code == .identityRefused else { return true }
        let kind = Kind(source: refusal.source, party: refusal.party, rule: refusal.rule, code: refusal.code)
        if let window = windows[kind], now - window.start < interval {
            windows[kind]!.repeated += 1
            return false
        }
        windows[kind] = Window(start: now, repeated: 0, first: refusal)
        return true
    }

    /// The summaries of intervals that have ended with refusals only counted; those intervals are forgotten.
    public mutating func due(now: Int64) -> [Summary] {
        var summaries: [Summary] = []
        for (kind, window) in windows where now - window.start >= interval {
            if window.repeated > 0 { summaries.append(Summary(first: window.first, repeated: window.repeated, since: window.start)) }
            windows[kind] = nil
        }
        return summaries.sorted { $0.since < $1.since }
    }
}
