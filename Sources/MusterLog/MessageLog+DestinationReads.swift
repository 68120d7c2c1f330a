import Glibc
import Synchronization

/// The key of a position list: a destination's messages, or the delivery records about them
/// (a destination starts with "/", so the two never meet).
enum PositionKey {
    static let ledgerPrefix = "ledger:"

    static func of(_ kind: RecordKind, destination: String) -> String {
        kind == .message ? destination : ledgerPrefix + destination
    }

    static func destination(of key: String) -> String {
        key.hasPrefix(ledgerPrefix) ? String(key.dropFirst(ledgerPrefix.count)) : key
    }
}

extension MessageLog {
    /// Up to `limit` durable records of `kind` for `destination` at or after `offset`, in offset
    /// order, and the offset to go on from (past the last one returned, or the durable end).
    /// Reads only those records where the segment's position lists say where they are (sealed
    /// segments with an index file, and the active one); a segment without them is read through.
    /// A destination that holds 0.1% of the log costs about 0.1% of it to read. Segments read
    /// through stop after `scanLimit` records (the call then returns where it stopped).
    public func records(of destination: String, kind: RecordKind = .message, from offset: UInt64,
                        limit: Int, scanLimit: Int = .max) throws(LogError) -> (records: [LogRecord], next: UInt64) {
        let key = PositionKey.of(kind, destination: destination)
        var found: [LogRecord] = []
        var next = offset
        var scanBudget = scanLimit
        while found.count < limit, scanBudget > 0 {
            guard let (segment, isLast, durableEnd) = locate(next), next < durableEnd else { break }
            if next < segment.baseOffset { next = segment.baseOffset }  // retention deleted the rest
            let end = min(segment.endOffset, durableEnd)
            if next >= end {
                if isLast { break }
                next = segment.endOffset
                continue
            }
            let wanted = limit - found.count
            do throws(LogError) {
                if let packed = try positions(of: key, in: segment, from: next, limit: wanted) {
                    next = try readListed(packed, in: segment, below: end, into: &found, limit: wanted) ?? end
                } else {
                    next = try readThrough(segment, from: next, below: end, matching: key, into: &found, limit: wanted, budget: &scanBudget)
                }
            } catch {
                // Retention deleted the segment between finding it and opening it: go on from what is left.
                if case .io(_, _, ENOENT) = error, firstOffset > segment.baseOffset { continue }
                throw error
            }
        }
        return (found, next)
    }

    /// The packed positions of `key`'s records at or after `offset` in `segment` (at most `limit`),
    /// or nil when the segment has no usable lists (then it is read through).
    private func positions(of key: String, in segment: SegmentIndex, from offset: UInt64, limit: Int) throws(LogError) -> ArraySlice<UInt64>? {
        guard let lists = segment.positionLists else {
            return activePositions.positions(of: key, base: segment.baseOffset, from: offset, limit: limit)?[...]
        }
        guard let list = lists[key] else { return [] }
        guard let all = try positionCache.list(list, of: key, segment: segment) else {
            options.notice("the index of segment \(segment.fileName) has a damaged list for \(key): reading the segment through")
            return nil
        }
        let start = PackedPosition.firstIndex(in: all, atOrAfter: offset, base: segment.baseOffset)
        return all[start..<min(all.count, start + limit)]
    }

    /// Reads the listed records; returns the offset after the last one read when `limit` was
    /// reached, nil when the list ran out first.
    private func readListed(_ packed: ArraySlice<UInt64>, in segment: SegmentIndex, below end: UInt64,
                            into found: inout [LogRecord], limit: Int) throws(LogError) -> UInt64? {
        guard let first = packed.first else { return nil }
        // Records packed close together are read a stretch at a time; scattered ones one by one.
        let span = max(1, PackedPosition.position(packed.last!) - PackedPosition.position(first))
        let dense = packed.count > 1 && span / packed.count < 4096
        let reader = try SegmentReader(path: segment.path, fileName: segment.fileName, readAhead: dense ? 256 << 10 : 4096)
        var taken = 0
        for value in packed {
            let offset = PackedPosition.offset(value, base: segment.baseOffset)
            guard offset < end else { return nil }
            reader.seek(to: PackedPosition.position(value))
            switch try reader.next(limit: segment.size) {
            case .record(let record, let position):
                guard record.offset == offset else {
                    throw LogError.corrupt(segment: segment.fileName, position: position, offset: offset,
                                           reason: "found offset \(record.offset) where the segment's index places offset \(offset)",
                                           directory: options.dataDirectory)
                }
                found.append(record)
                taken += 1
                if taken == limit { return offset + 1 }
            case .end:
                return nil
            case .bad(let position, let reason, _):
                throw LogError.corrupt(segment: segment.fileName, position: position, offset: offset, reason: reason, directory: options.dataDirectory)
            }
        }
        return nil
    }

    /// Reads `segment` from `offset` to `end`, keeping `key`'s records; returns where it stopped.
    private func readThrough(_ segment: SegmentIndex, from offset: UInt64, below end: UInt64, matching key: String,
                             into found: inout [LogRecord], limit: Int, budget: inout Int) throws(LogError) -> UInt64 {
        let cursor = cursor(from: offset)
        var taken = 0
        while cursor.nextOffset < end, budget > 0 {
            let records = try cursor.next(maxRecords: Int(min(UInt64(min(256, budget)), end - cursor.nextOffset)))
            if records.isEmpty { break }
            budget -= records.count
            for record in records where record.offset < end {
                guard PositionKey.of(record.kind, destination: record.destination) == key else { continue }
                found.append(record)
                taken += 1
                if taken == limit { return record.offset + 1 }
            }
        }
        return max(cursor.nextOffset, offset)
    }
}

/// The position lists of sealed segments read lately: a replay reads a destination a batch at a
/// time, and each batch would otherwise read its segment's list again. A leaf lock.
final class PositionListCache: Sendable {
    private struct Entry {
        let base: UInt64
        let key: String
        let positions: [UInt64]
    }

    private let entries = Mutex<[Entry]>([])
    static let capacity = 8

    func list(_ list: PositionList, of key: String, segment: SegmentIndex) throws(LogError) -> [UInt64]? {
        if let hit = entries.withLock({ $0.first { $0.base == segment.baseOffset && $0.key == key } }) { return hit.positions }
        guard let positions = try SegmentIndexFile.positions(list, segmentPath: segment.path) else { return nil }
        entries.withLock { entries in
            entries.removeAll { $0.base == segment.baseOffset && $0.key == key }
            entries.append(Entry(base: segment.baseOffset, key: key, positions: positions))
            if entries.count > Self.capacity { entries.removeFirst() }
        }
        return positions
    }
}
