import Synchronization

/// Where each destination's records are in the active segment (sealed segments keep theirs in
/// their index files), so that a reader of one destination reads only its records.
/// The writer adds each batch before the catalog makes it visible, so a reader finds every
/// durable record's position (and perhaps a few newer ones, which it leaves alone).
/// A leaf lock (MusterServer/LockOrder.swift): taken under the commit lock and by readers.
final class ActivePositions: Sendable {
    private struct Lists {
        var base: UInt64
        var byDestination: [String: [UInt64]] = [:]
    }

    private let lists: Mutex<Lists>

    init(base: UInt64, byDestination: [String: [UInt64]] = [:]) {
        lists = Mutex(Lists(base: base, byDestination: byDestination))
    }

    /// Records (destination, offset, byte position) just written to the segment starting at `base`.
    func add<Records: Sequence>(_ records: Records, base: UInt64) where Records.Element == (String, UInt64, Int) {
        lists.withLock { lists in
            guard lists.base == base else { return }
            for (destination, offset, position) in records {
                lists.byDestination[destination, default: []].append(PackedPosition.pack(offset: offset, base: base, position: position))
            }
        }
    }

    /// Every list of the segment starting at `base` (empty once another segment is active).
    func lists(base: UInt64) -> [String: [UInt64]] {
        lists.withLock { $0.base == base ? $0.byDestination : [:] }
    }

    /// A new active segment starts at `base`.
    func reset(base: UInt64) {
        lists.withLock { $0 = Lists(base: base) }
    }

    /// Up to `limit` packed positions of `destination`'s records at or after `offset` in the
    /// segment starting at `base`; nil when that segment is no longer the active one.
    func positions(of destination: String, base: UInt64, from offset: UInt64, limit: Int) -> [UInt64]? {
        lists.withLock { lists in
            guard lists.base == base else { return nil }
            guard let list = lists.byDestination[destination] else { return [] }
            let start = PackedPosition.firstIndex(in: list, atOrAfter: offset, base: base)
            return Array(list[start..<min(list.count, start + limit)])
        }
    }
}

extension PackedPosition {
    /// The index of the first entry of `list` (in offset order) whose record is at or after `offset`.
    static func firstIndex(in list: [UInt64], atOrAfter offset: UInt64, base: UInt64) -> Int {
        var low = 0, high = list.count
        while low < high {
            let middle = (low + high) / 2
            if Self.offset(list[middle], base: base) < offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
