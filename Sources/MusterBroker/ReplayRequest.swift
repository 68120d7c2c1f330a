public import MusterProtocol
/// Where a replay subscription starts: RabbitMQ's `x-stream-offset` values.
public enum ReplayStart: Sendable, Equatable {
    /// The oldest record still kept.
    case first
    /// The newest record of the destination (or `next` when it has none).
    case last
    /// Only records appended from now on.
    case next
    case offset(UInt64)
    /// The first record stamped at or after this time (milliseconds since 1970).
    case timestamp(milliseconds: Int64)
}

/// Where a replay ends (`muster-until`); after it the broker sends the end marker.
public enum ReplayEnd: Sendable, Equatable {
    /// Through this offset, inclusive.
    case offset(UInt64)
    /// Records stamped before this time (milliseconds since 1970), exclusive.
    case timestamp(milliseconds: Int64)
    /// Through the newest record that existed when the subscription was made.
    case head
}

/// A SUBSCRIBE that reads the log from a point instead of receiving only new messages.
public struct ReplayRequest: Sendable, Equatable {
    public var start: ReplayStart
    public var end: ReplayEnd?
    /// Also deliver the destination's delivery records (who received and acknowledged what).
    public var includeAcks: Bool

    public init(start: ReplayStart, end: ReplayEnd? = nil, includeAcks: Bool = false) {
        self.start = start
        self.end = end
        self.includeAcks = includeAcks
    }

    public static let startHeader = "x-stream-offset"

    /// Reads `x-stream-offset`, `muster-until` and `muster-include-acks` from SUBSCRIBE headers;
    /// nil when none is present.
    public static func parse(start startText: String?, end endText: String?, includeAcks acksText: String? = nil) throws(BrokerError) -> ReplayRequest? {
        guard startText != nil || endText != nil || acksText != nil else { return nil }
        let start = try startText.map { text throws(BrokerError) in try parseStart(text) } ?? .next
        let end = try endText.map { text throws(BrokerError) in try parseEnd(text) }
        let includeAcks = acksText.map(BooleanHeader.parse)
        guard includeAcks != .some(nil) else {
            throw BrokerError(.invalidHeader, "\(ReplayHeader.includeAcks) '\(acksText!)' must be true or false")
        }
        return ReplayRequest(start: start, end: end, includeAcks: includeAcks == true)
    }

    static func parseStart(_ text: String) throws(BrokerError) -> ReplayStart {
        switch text {
        case "first": return .first
        case "last": return .last
        case "next": return .next
        default:
            if let value = text.valueAfter("offset="), let offset = UInt64(value) { return .offset(offset) }
            if let value = text.valueAfter("timestamp="), let milliseconds = milliseconds(fromSeconds: value) {
                return .timestamp(milliseconds: milliseconds)
            }
            throw BrokerError(.invalidHeader, "x-stream-offset '\(text)' must be first, last, next, offset=N or timestamp=UNIX-SECONDS")
        }
    }

    static func parseEnd(_ text: String) throws(BrokerError) -> ReplayEnd {
        if text == "head" { return .head }
        if let value = text.valueAfter("offset="), let offset = UInt64(value) { return .offset(offset) }
        if let value = text.valueAfter("timestamp="), let milliseconds = milliseconds(fromSeconds: value) {
            return .timestamp(milliseconds: milliseconds)
        }
        throw BrokerError(.invalidHeader, "\(ReplayHeader.until) '\(text)' must be head, offset=N or timestamp=UNIX-SECONDS")
    }

    /// Seconds since 1970, whole or with a fraction ("1763700000.250"), as milliseconds.
    static func milliseconds(fromSeconds text: String) -> Int64? {
        guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds < 1e11 else { return nil }
        return Int64((seconds * 1000).rounded())
    }
}

extension String {
    fileprivate func valueAfter(_ prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}
