/// Which cases owe something now (inbox copies not yet written) or will at a known time (a
/// reminder, an escalation), so that the timers look only at those: a book of 10,000 open
/// summonses answers `dueMessages` and `nextDeadline` without reading every case. Kept by the
/// book as each message changes a case (`WorkflowBook.reindex`); never persisted (rebuilt).
struct WorkflowTimerIndex: Sendable {
    /// A case, ordered as the timers have always visited them: summonses, then hand-offs, each in opening order.
    struct CaseKey: Hashable, Comparable, Sendable {
        enum Kind: Int, Sendable { case summons = 0, handoff = 1 }
        let kind: Kind
        let id: String
        /// Its place in the book's opening order.
        let position: Int

        static func < (left: CaseKey, right: CaseKey) -> Bool {
            (left.kind.rawValue, left.position) < (right.kind.rawValue, right.position)
        }
    }

    private(set) var copiesOwed: Set<CaseKey> = []
    /// Each case's place in opening order, as first seen (cases are indexed as they open).
    private var positions: [CaseKey.Kind: [String: Int]] = [:]
    private var wakeAt: [CaseKey: Int64] = [:]
    /// Every `wakeAt` entry, by time (then case order).
    private var schedule: [(time: Int64, key: CaseKey)] = []

    /// The key of a case (a new one goes after every case seen before it).
    mutating func key(_ kind: CaseKey.Kind, _ id: String) -> CaseKey {
        if let position = positions[kind]?[id] { return CaseKey(kind: kind, id: id, position: position) }
        let position = positions[kind]?.count ?? 0
        positions[kind, default: [:]][id] = position
        return CaseKey(kind: kind, id: id, position: position)
    }

    /// What a case owes from now on: copies now, and the earliest time something else will be owed.
    mutating func update(_ key: CaseKey, copiesOwed owesCopies: Bool, wakeAt time: Int64?) {
        if owesCopies { copiesOwed.insert(key) } else { copiesOwed.remove(key) }
        if let old = wakeAt[key] {
            if old == time { return }
            schedule.remove(at: place(of: (old, key)))
            wakeAt[key] = nil
        }
        guard let time else { return }
        wakeAt[key] = time
        schedule.insert((time, key), at: place(of: (time, key)))
    }

    /// The cases to look at `now`, in case order.
    func due(now: Int64) -> [CaseKey] {
        var keys = copiesOwed
        for entry in schedule {
            if entry.time > now { break }
            keys.insert(entry.key)
        }
        return keys.sorted()
    }

    /// The earliest time a case will owe something (it may have passed: then it is owed now).
    var earliest: Int64? { schedule.first?.time }

    /// Where `entry` is, or belongs, in `schedule`.
    private func place(of entry: (time: Int64, key: CaseKey)) -> Int {
        var low = 0, high = schedule.count
        while low < high {
            let middle = (low + high) / 2
            let probe = schedule[middle]
            if probe.time < entry.time || (probe.time == entry.time && probe.key < entry.key) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
