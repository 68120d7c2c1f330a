import Synchronization

/// The origin keys (origin log id, offset) of the records this broker imported from other
/// brokers' logs, or whose import its policy refused, as a pure state machine: with relaying, a
/// record can arrive by two routes (directly and through a relay), and only the first copy is
/// decided. A key is claimed while its record is being stored, so that two links taking copies at
/// once store one; a failed store or a refusal of the route (a relay this broker does not take
/// from) releases it, and a copy from another route may be taken then.
public struct OriginKeys: Sendable {
    public struct Key: Hashable, Sendable {
        public let logID: String
        public let offset: UInt64

        public init(logID: String, offset: UInt64) {
            self.logID = logID
            self.offset = offset
        }
    }

    private var stored: [String: OffsetRanges] = [:]
    private var claimed: Set<Key> = []

    public init() {}

    public enum Claim: Sendable, Equatable {
        /// Claimed for the caller, who then reports `stored` or `released`.
        case claimed
        /// A copy is stored here already.
        case stored
        /// A copy is being stored (by another link, or by this one: a peer's stream may hold a
        /// record twice): ask again once that is decided.
        case pending
    }

    public mutating func claim(_ key: Key) -> Claim {
        if stored[key.logID]?.contains(key.offset) == true { return .stored }
        return claimed.insert(key).inserted ? .claimed : .pending
    }

    /// The claimed record (or one found in the log) is stored.
    public mutating func stored(_ key: Key) {
        claimed.remove(key)
        stored[key.logID, default: OffsetRanges()].insert(key.offset)
    }

    /// The claimed record could not be stored: a copy of it may be taken again.
    public mutating func released(_ key: Key) {
        claimed.remove(key)
    }

    public func contains(_ key: Key) -> Bool {
        stored[key.logID]?.contains(key.offset) == true
    }

    /// How many ranges of consecutive offsets are kept (memory grows with this, not with the
    /// number of records, when an origin exports runs of its log).
    public var rangeCount: Int { stored.values.reduce(0) { $0 + $1.count } }
}

/// A set of offsets kept as sorted, disjoint, non-adjacent closed ranges.
struct OffsetRanges: Sendable {
    private var ranges: [ClosedRange<UInt64>] = []

    var count: Int { ranges.count }

    func contains(_ offset: UInt64) -> Bool {
        let index = firstIndex(after: offset)
        return index > 0 && ranges[index - 1].contains(offset)
    }

    mutating func insert(_ offset: UInt64) {
        let index = firstIndex(after: offset)
        let joinsPrevious = index > 0 && ranges[index - 1].upperBound &+ 1 >= offset
        if joinsPrevious, ranges[index - 1].contains(offset) { return }
        let joinsNext = index < ranges.count && offset &+ 1 == ranges[index].lowerBound
        switch (joinsPrevious, joinsNext) {
        case (true, true):
            ranges[index - 1] = ranges[index - 1].lowerBound...ranges[index].upperBound
            ranges.remove(at: index)
        case (true, false):
            ranges[index - 1] = ranges[index - 1].lowerBound...offset
        case (false, true):
            ranges[index] = offset...ranges[index].upperBound
        case (false, false):
            ranges.insert(offset...offset, at: index)
        }
    }

    /// The range holding `offset`, cut to start there, or else the first range after it.
    func firstRange(atOrAfter offset: UInt64) -> ClosedRange<UInt64>? {
        let index = firstIndex(after: offset)
        if index > 0, ranges[index - 1].contains(offset) { return offset...ranges[index - 1].upperBound }
        return index < ranges.count ? ranges[index] : nil
    }

    /// Forgets the ranges that end at or before `offset`, once they are many enough to be worth
    /// it (the caller must not ask about offsets below `offset` again).
    mutating func removeRanges(endingThrough offset: UInt64) {
        let count = firstIndex(after: offset)
        let ending = count > 0 && ranges[count - 1].upperBound > offset ? count - 1 : count
        // In bulk, so that a long list is not shifted for every few ranges dropped.
        if ending > 0, ending >= 1024 || ending * 2 >= ranges.count { ranges.removeFirst(ending) }
    }

    /// Forgets the oldest `count` ranges; returns the last offset forgotten.
    mutating func removeOldest(_ count: Int) -> UInt64? {
        guard count > 0, !ranges.isEmpty else { return nil }
        let last = ranges[min(count, ranges.count) - 1].upperBound
        ranges.removeFirst(min(count, ranges.count))
        return last
    }

    /// The index of the first range starting after `offset`.
    private func firstIndex(after offset: UInt64) -> Int {
        var low = 0, high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].lowerBound <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// The broker's `OriginKeys`, shared by its import links while any peer relays (the links claim
/// and report keys; `FederationLinks` fills it from the log once).
public final class SharedOriginKeys: Sendable {
    private let keys = Mutex(OriginKeys())

    public init() {}

    public func claim(_ key: OriginKeys.Key) -> OriginKeys.Claim { keys.withLock { $0.claim(key) } }
    public func stored(_ key: OriginKeys.Key) { keys.withLock { $0.stored(key) } }
    public func released(_ key: OriginKeys.Key) { keys.withLock { $0.released(key) } }
    public var rangeCount: Int { keys.withLock { $0.rangeCount } }
}
