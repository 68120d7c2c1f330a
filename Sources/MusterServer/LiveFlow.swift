/// Which live topic subscriptions of a connection are pushed to and which are behind
/// (served from the log by a follower). Guarded by the session's mutex; decisions are made
/// under the broker's lock, in offset order.
struct LiveFlow {
    enum Decision: Equatable {
        case write
        /// The follower (or an earlier push) covers this offset.
        case drop
        /// The connection is too far behind: stop pushing and serve from the log from this offset.
        case follow(UInt64)
    }

    /// Unsent bytes on a connection beyond which its live topic subscriptions are served from the log.
    static let highWater = 4 << 20

    /// Subscription id → the first offset not pushed.
    private(set) var lagging: [String: UInt64] = [:]
    /// Subscription id → offsets below this were already sent by the follower that just rejoined.
    private var sentBelow: [String: UInt64] = [:]

    mutating func decide(subscriptionID id: String, offset: UInt64, backlog: Int) -> Decision {
        if lagging[id] != nil { return .drop }
        if let below = sentBelow[id] {
            if offset < below { return .drop }
            sentBelow[id] = nil
        }
        guard backlog > Self.highWater else { return .write }
        lagging[id] = offset
        return .follow(offset)
    }

    mutating func rejoin(subscriptionID id: String, at next: UInt64) {
        lagging[id] = nil
        sentBelow[id] = next
    }

    mutating func forget(_ id: String) {
        lagging[id] = nil
        sentBelow[id] = nil
    }
}
