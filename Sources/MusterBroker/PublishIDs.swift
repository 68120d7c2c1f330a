public import MusterProtocol

/// Which SENDs carrying a publisher-chosen id (`muster-publish-id`) were already stored, so
/// that a repeat — an adapter resending after a cut connection or a broker restart — gets the
/// original's receipt instead of a second record. Ids are per sending party: one party's id
/// never matches, or reveals, another's. Pure: the broker keeps the waiting callbacks as `Waiter`s.
///
/// An id is remembered for `window` after it was stored, and at most `capacity` are remembered
/// in all (the oldest are forgotten first, whoever sent them: a party that sends more ids than
/// that within the window shortens it for everyone). A SEND still being stored is never
/// forgotten: a repeat that arrives meanwhile waits for the original's outcome.
public struct PublishIDs<Waiter> {
    public struct Key: Hashable, Sendable {
        public let party: String
        public let id: String

        public init(party: PartyIdentity, id: String) {
            self.party = party.description
            self.id = id
        }
    }

    /// What a repeat's receipt says about the original.
    public struct Original: Sendable, Equatable {
        public let offset: UInt64
        public let timestamp: Int64
        /// Where it was published: the same id cannot name a message to another destination.
        public let destination: String
        /// The summons, hand-off or operation the broker assigned, for a workflow message.
        public let workflowID: String?

        public init(offset: UInt64, timestamp: Int64, destination: String, workflowID: String?) {
            self.offset = offset
            self.timestamp = timestamp
            self.destination = destination
            self.workflowID = workflowID
        }
    }

    public enum Claim {
        /// Not seen (or forgotten): store it, then `settle`.
        case fresh
        /// The same id is being stored now; the waiter is told with `settle`'s answer.
        case waiting
        /// Stored before: answer with the original.
        case repeated(Original)
    }

    private enum Entry {
        case storing(waiters: [Waiter])
        case stored(Original, serial: UInt64)
    }

    public let window: Int64
    public let capacity: Int
    private var entries: [Key: Entry] = [:]
    /// Stored ids in the order they were stored, for forgetting the oldest first. A serial that
    /// no longer matches its entry was forgotten already (and perhaps claimed again).
    private var order: [(key: Key, storedAt: Int64, serial: UInt64)] = []
    private var orderStart = 0
    private var nextSerial: UInt64 = 0
    public private(set) var repeatsAnswered = 0

    /// - Parameters:
    ///   - window: milliseconds an id is remembered after it was stored.
    ///   - capacity: how many stored ids are remembered at most.
    public init(window: Int64, capacity: Int) {
        self.window = window
        self.capacity = max(1, capacity)
    }

    /// How many ids are remembered or being stored.
    public var count: Int { entries.count }

    /// A SEND with `key` arrives at `now`.
    public mutating func claim(_ key: Key, waiter: Waiter, now: Int64) -> Claim {
        forgetExpired(now: now)
        switch entries[key] {
        case nil:
            entries[key] = .storing(waiters: [])
            return .fresh
        case .storing(var waiters):
            waiters.append(waiter)
            entries[key] = .storing(waiters: waiters)
            return .waiting
        case .stored(let original, _):
            repeatsAnswered += 1
            return .repeated(original)
        }
    }

    /// The SEND that claimed `key` was stored as `original` (nil: it was refused or failed, and
    /// the id is free again). Returns the repeats that waited for it.
    public mutating func settle(_ key: Key, as original: Original?, now: Int64) -> [Waiter] {
        guard case .storing(let waiters) = entries[key] else { return [] }
        if let original {
            remember(key, original, storedAt: now)
            repeatsAnswered += waiters.count
        } else {
            entries[key] = nil
        }
        forgetExpired(now: now)
        return waiters
    }

    /// An id found in the log at start (stored at `storedAt`). The first record of an id is the
    /// original; a later one with the same id is not (it was never stored through `claim`).
    public mutating func restore(_ key: Key, _ original: Original, storedAt: Int64) {
        guard entries[key] == nil else { return }
        remember(key, original, storedAt: storedAt)
    }

    private mutating func remember(_ key: Key, _ original: Original, storedAt: Int64) {
        nextSerial += 1
        entries[key] = .stored(original, serial: nextSerial)
        order.append((key, storedAt, nextSerial))
    }

    /// Forgets ids stored more than `window` ago, and the oldest beyond `capacity`.
    private mutating func forgetExpired(now: Int64) {
        var remembered = order.count - orderStart
        while orderStart < order.count {
            let oldest = order[orderStart]
            guard now - oldest.storedAt > window || remembered > capacity else { break }
            if case .stored(_, let serial) = entries[oldest.key], serial == oldest.serial { entries[oldest.key] = nil }
            orderStart += 1
            remembered -= 1
        }
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}
