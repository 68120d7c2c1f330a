/// One import link's rule, as a pure state machine: where the link stands (the last record
/// taken from the peer, imported or refused — rebuilt from this broker's log, its only cursor),
/// and what to do with each record the peer sends. A record at or before the position is a
/// repeat and is dropped; the same position with another hash, or another log id, is a fork:
/// the link halts with an alarm rather than guess.
public struct ImportLink: Sendable {
    /// A record's place in the log of the broker it came from, and that record's hash there
    /// (nil when not known: a relayed record carries its origin's hash, not the relay's).
    public struct Position: Sendable, Equatable {
        public let logID: String
        public let offset: UInt64
        public let hash: String?

        public init(logID: String, offset: UInt64, hash: String?) {
            self.logID = logID
            self.offset = offset
            self.hash = hash
        }
    }

    public enum Decision: Sendable, Equatable {
        /// New: import it (or record its refusal), then `taken(_:)`.
        case take
        /// Already taken: drop it (and acknowledge it, so the peer moves on).
        case duplicate
        /// The peer's log contradicts what was taken from it: stop the link.
        case halt(String)
    }

    public let peer: String
    /// The last record taken durably.
    public private(set) var position: Position?
    /// The last record handed over to be imported (durable or not yet).
    public private(set) var submitted: Position?
    /// Set once the link halted; it stays halted until an operator restarts the broker.
    public private(set) var alarm: String?
    public private(set) var duplicates = 0
    /// Set by `subscribed()`: the next record must be the last one taken.
    private var awaitingResend = false
    /// Hashes of the latest records taken, so that a repeat of one of them is checked too.
    private var recent: [UInt64: String] = [:]
    /// The offsets in `recent`, oldest at `recentNext` once full (a ring: dropping the oldest
    /// from the front of an array moved the other thousand for every record taken).
    private var recentOrder: [UInt64] = []
    private var recentNext = 0
    private static let recentCapacity = 1024

    public init(peer: String, position: Position?) {
        self.peer = peer
        self.position = position
        self.submitted = position
        if let position, let hash = position.hash { remember(position.offset, hash) }
    }

    /// The `x-stream-offset` to subscribe with: the last record taken again (its hash then
    /// shows at once whether the peer's log is still the one it was), or the peer's first.
    /// Subscribe only with nothing in flight (`submitted == position`).
    public var subscribeFrom: String { position.map { "offset=\($0.offset)" } ?? "first" }

    /// The link subscribed (again) from `subscribeFrom`: the peer must first send the last
    /// record taken, unchanged. Anything else means its log no longer holds what was taken.
    public mutating func subscribed() {
        awaitingResend = position != nil
    }

    /// The peer reported that records after the position were pruned before the link took
    /// them (a gap, recorded by the shell): the stream starts after them instead.
    public mutating func gapReported(through end: Position) -> Decision {
        if let alarm { return .halt(alarm) }
        if let known = submitted, known.logID != end.logID {
            return halt("the log of \(peer)'s broker changed identity (log id \(known.logID) → \(end.logID)) and it reports a gap in it")
        }
        awaitingResend = false
        submitted = end
        return .take
    }

    /// Decides about the next record the peer sent; `.take` counts it as submitted.
    public mutating func consider(_ record: Position) -> Decision {
        let decision = decide(record)
        if decision == .take { submitted = record }
        return decision
    }

    private mutating func decide(_ record: Position) -> Decision {
        if let alarm { return .halt(alarm) }
        guard let position = submitted else { return .take }
        guard record.logID == position.logID else {
            return halt("the log of \(peer)'s broker changed identity (log id \(position.logID) → \(record.logID)): it was replaced or "
                        + "restored, and its offsets no longer name what was imported from it")
        }
        if awaitingResend, let taken = self.position {
            awaitingResend = false
            guard record.offset == taken.offset, record.hash == nil || taken.hash == nil || record.hash == taken.hash else {
                let found = record.offset == taken.offset ? "with hash \(record.hash ?? "")" : "at \(record.logID)/\(record.offset)"
                return halt("fork: asked to resend the last record taken, \(taken.logID)/\(taken.offset) (hash \(taken.hash ?? "unknown")), \(peer)'s "
                            + "broker sent one \(found): its log no longer holds what was imported from it (restored from a backup?)")
            }
        }
        if record.offset > position.offset { return .take }
        if let known = recent[record.offset], let hash = record.hash, known != hash {
            return halt("fork: \(peer)'s record \(record.logID)/\(record.offset) has hash \(hash), but the record imported from that "
                        + "position had \(known): the peer's log was rewritten (restored from a backup?)")
        }
        duplicates += 1
        return .duplicate
    }

    /// The record was durably imported, or its refusal durably recorded.
    public mutating func taken(_ record: Position) {
        position = record
        if let hash = record.hash { remember(record.offset, hash) }
    }

    /// What was submitted and not taken will not be (the import failed, the link dropped it):
    /// the peer sends it again after the next subscribe.
    public mutating func forgetSubmitted() {
        submitted = position
    }

    private mutating func halt(_ reason: String) -> Decision {
        alarm = reason
        return .halt(reason)
    }

    private mutating func remember(_ offset: UInt64, _ hash: String) {
        guard recent.updateValue(hash, forKey: offset) == nil else { return }
        if recentOrder.count < Self.recentCapacity {
            recentOrder.append(offset)
        } else {
            recent[recentOrder[recentNext]] = nil
            recentOrder[recentNext] = offset
            recentNext = (recentNext + 1) % Self.recentCapacity
        }
    }
}
