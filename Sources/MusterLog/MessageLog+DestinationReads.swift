import Glibc
import Synchronization

/// The key of a position list: the record kind's code, a colon and the destination
/// (`1:/queue/a` for its messages, `2:/queue/a` for the delivery records about them).
enum PositionKey {
    static func of(_ kind: RecordKind, destination: String) -> String {
        "\(kind.rawValue):" + destination
    }

    static func destination(of key: String) -> String {
        key.firstIndex(of: ":").map { String(key[key.index(after: $0)...]) } ?? key
    }
}

extension MessageLog {
    /// Up to `limit` durable records of `kind` for `destination` at or after `offset`, in offset
    /// order, and the offset to go on from (past the last one returned, or the durable end).
    /// Reads only those records where the segment's position lists say where they are (sealed
    /// segments with an index file, and the active one); a segment without them is read through.
    /// A destination that holds 0.1% of the log costs about 0.1% of it to read. Segments read
    /// through stop after `scanLimit` records (the call then returns where it stopped). The call
    /// stops once the records it returns hold `maxBytes` (it returns at least one).
    public func records(of destination: String, kind: RecordKind = .message, from offset: UInt64,
                        limit: Int, maxBytes: Int = .max, scanLimit: Int = .max) throws(LogError) -> (records: [LogRecord], next: UInt64) {
        let key = PositionKey.of(kind, destination: destination)
        var found = FoundRecords(limit: limit, maxBytes: maxBytes)
        var next = offset
        var scanBudget = scanLimit
        while !found.isFull, scanBudget > 0 {
            guard let (segment, isLast, durableEnd) = locate(next), next < durableEnd else { break }
            if next < segment.baseOffset { next = segment.baseOffset }  // retention deleted the rest
            let end = min(segment.endOffset, durableEnd)
            if next >= end {
                if isLast { break }
                next = segment.endOffset
                continue
            }
            do throws(LogError) {
                if let packed = try positions(of: key, in: segment, from: next, limit: limit - found.records.count),
                   let reached = try readListed(packed, in: segment, below: end, key: key, into: &found) {
                    next = reached
                } else {
                    next = try readThrough(segment, from: next, below: end, matching: key, into: &found, budget: &scanBudget)
                }
            } catch {
                // Retention deleted the segment between finding it and opening it: go on from what is left.
                if case .io(_, _, ENOENT) = error, firstOffset > segment.baseOffset { continue }
                throw error
            }
        }
        return (found.records, next)
    }

    /// The packed positions of `key`'s records at or after `offset` in `segment` (at most `limit`),
    /// or nil when the segment has no usable lists (then it is read through).
    private func positions(of key: String, in segment: SegmentIndex, from offset: UInt64, limit: Int) throws(LogError) -> ArraySlice<UInt64>? {
        guard let lists = segment.positionLists else {
            return activePositions.positions(of: key, base: segment.baseOffset, from: offset, limit: limit)?[...]
        }
        guard let list = lists[key] else { return [] }
        let loaded: [UInt64]?
        do throws(LogError) { loaded = try positionCache.list(list, of: key, segment: segment) } catch {
            // A cache: an index file gone or unreadable while the segment is there means reading it through.
            guard case .io = error, access(segment.path, F_OK) == 0 else { throw error }
            loaded = nil
        }
        guard let all = loaded else {
            options.notice("the index of segment \(segment.fileName) has a damaged or missing list for \(key): reading the segment through")
            return nil
        }
        let start = PackedPosition.firstIndex(in: all, atOrAfter: offset, base: segment.baseOffset)
        return all[start..<min(all.count, start + limit)]
    }

    /// Reads the listed records; returns the offset after the last one read when the read is
    /// full, `end` when the list ran out first, and nil (having added nothing) when a listed
    /// place does not hold a record of `key` (the list is wrong: the segment is read through).
    private func readListed(_ packed: ArraySlice<UInt64>, in segment: SegmentIndex, below end: UInt64, key: String,
                            into found: inout FoundRecords) throws(LogError) -> UInt64? {
        guard let first = packed.first else { return end }
        // Records packed close together are read a stretch at a time; scattered ones one by one
        // (2 KiB: a record with a 1 KiB body in one read, a longer one in two).
        let span = max(1, PackedPosition.position(packed.last!) - PackedPosition.position(first))
        let dense = packed.count > 1 && span / packed.count < 4096
        let reader = try SegmentReader(path: segment.path, fileName: segment.fileName, readAhead: dense ? 256 << 10 : 2048)
        var read: [LogRecord] = []
        var readBytes = 0
        var reached = end
        for value in packed {
            let offset = PackedPosition.offset(value, base: segment.baseOffset)
            guard offset < end else { break }
            reader.seek(to: PackedPosition.position(value))
            guard case .record(let record, _) = try reader.next(limit: segment.size), record.offset == offset,
                  PositionKey.of(record.kind, destination: record.destination) == key else {
                options.notice("the index of segment \(segment.fileName) places a record of \(key) at offset \(offset), which holds none: reading the segment through")
                return nil
            }
            read.append(record)
            readBytes += record.size
            if found.isFull(adding: read.count, bytes: readBytes) {
                reached = offset + 1
                break
            }
        }
        for record in read { found.append(record) }
        return reached
    }

    /// Reads `segment` from `offset` to `end`, keeping `key`'s records; returns where it stopped.
    private func readThrough(_ segment: SegmentIndex, from offset: UInt64, below end: UInt64, matching key: String,
                             into found: inout FoundRecords, budget: inout Int) throws(LogError) -> UInt64 {
        let cursor = cursor(from: offset)
        while cursor.nextOffset < end, budget > 0 {
            let records = try cursor.next(maxRecords: Int(min(UInt64(min(256, budget)), end - cursor.nextOffset)))
            if records.isEmpty { break }
            budget -= records.count
            for record in records where record.offset < end {
                guard PositionKey.of(record.kind, destination: record.destination) == key else { continue }
                found.append(record)
                if found.isFull { return record.offset + 1 }
            }
        }
        // Retention may have deleted the segment meanwhile: the cursor then read later segments' records, which are not taken here.
        return min(max(cursor.nextOffset, offset), end)
    }
}

/// The records a read has found, and whether it has enough (by count or by bytes).
private struct FoundRecords {
    let limit: Int
    let maxBytes: Int
    private(set) var records: [LogRecord] = []
    private var bytes = 0

    init(limit: Int, maxBytes: Int) {
        self.limit = limit
        self.maxBytes = maxBytes
    }

    var isFull: Bool { records.count >= limit || bytes >= maxBytes }

    /// Whether `count` more records of `size` bytes would make the read full.
    func isFull(adding count: Int, bytes size: Int) -> Bool {
        records.count + count >= limit || bytes + size >= maxBytes
    }

    mutating func append(_ record: LogRecord) {
        records.append(record)
        bytes += record.size
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
