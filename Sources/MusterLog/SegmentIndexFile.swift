import Glibc

/// Where one destination's record positions sit in a sealed segment's index file.
struct PositionList: Sendable, Equatable {
    /// Byte position of the list in the index file.
    let start: Int
    let count: Int
    let crc: UInt32
    /// The offset of the destination's last record in the segment.
    let lastOffset: UInt64
}

/// A record's place in its segment, packed in 8 bytes: its offset relative to the segment's base
/// (high half) and its byte position in the file (low half). Segments are at most 2 GiB
/// (`LogOptions.maximumSegmentBytes`), so both fit.
enum PackedPosition {
    static func pack(offset: UInt64, base: UInt64, position: Int) -> UInt64 {
        (offset - base) << 32 | UInt64(UInt32(truncatingIfNeeded: position))
    }
    static func offset(_ packed: UInt64, base: UInt64) -> UInt64 { base + packed >> 32 }
    static func position(_ packed: UInt64) -> Int { Int(packed & 0xFFFF_FFFF) }
}

/// The index file of a sealed segment (`SEGMENT.index` beside `SEGMENT.log`): what start-up
/// would otherwise learn by reading the segment (its range, times, last chain hash, sparse
/// index, bytes per destination) and, per destination, where each of its records is, so
/// that a replay of one destination reads only its records.
///
/// It is a cache of the segment, never evidence: start-up uses it only when it matches the
/// segment (the same header and size, and a last record that checks out with the offset,
/// time and chain hash the index names), and otherwise scans the segment and writes it again.
/// Layout (little-endian) in Schemas/log-format.md, "Segment index files".
enum SegmentIndexFile {
    static let suffix = ".index"
    static let magic: UInt32 = 0x5849_534D  // "MSIX"
    static let version: UInt16 = 1
    static let fixedSize = 176
    /// Sparse entries kept for a sealed segment: about 1,024 (one per 64 KiB of a 64 MiB
    /// segment; the active segment keeps one per `SegmentIndex.spacing`). A cursor starting
    /// inside it reads at most that much before its record, and years of log keep little in memory.
    static func sealedSpacing(segmentSize: Int) -> Int { max(SegmentIndex.spacing, segmentSize / 1024) }

    static func path(ofSegment segmentPath: String) -> String {
        String(segmentPath.dropLast(SegmentName.suffix.count)) + suffix
    }

    /// The sealed segment's index with `positions` (position key → packed positions, in offset order).
    static func encode(_ segment: SegmentIndex, positions: [String: [UInt64]]) -> (bytes: [UInt8], lists: [String: PositionList]) {
        let entries = coarse(segment.entries, segmentSize: segment.size)
        let keys = positions.keys.sorted()
        let destinations = segment.destinationBytes.keys.sorted()
        var summary: [UInt8] = []
        summary.append(le: magic)
        summary.append(le: version)
        summary.append(le: UInt16(0))
        summary.append(le: UInt64(segment.size))
        summary.append(le: segment.endOffset)
        summary.append(le: UInt64(bitPattern: segment.firstTimestamp ?? .min))
        summary.append(le: UInt64(bitPattern: segment.lastTimestamp ?? .min))
        summary.append(le: UInt64(segment.lastRecordPosition ?? 0))
        summary.append(contentsOf: segment.lastChain.bytes)
        summary.append(contentsOf: segment.header.encoded())
        summary.append(le: UInt32(entries.count))
        summary.append(le: UInt32(destinations.count))
        summary.append(le: UInt32(keys.count))
        summary.append(le: UInt32(0))
        // The tables' sizes are known before the lists' positions are.
        let bytesTableSize = destinations.reduce(0) { $0 + 2 + $1.utf8.count + 8 }
        let listTableSize = keys.reduce(0) { $0 + 2 + $1.utf8.count + 8 + 4 + 8 + 4 }
        let summaryLength = fixedSize + entries.count * 24 + bytesTableSize + listTableSize
        summary.append(le: UInt64(summaryLength))
        for entry in entries {
            summary.append(le: entry.offset)
            summary.append(le: UInt64(bitPattern: entry.timestamp))
            summary.append(le: UInt64(entry.position))
        }
        for destination in destinations {
            appendName(destination, to: &summary)
            summary.append(le: UInt64(segment.destinationBytes[destination]!))
        }
        var listStart = summaryLength + 4
        var lists: [String: PositionList] = [:]
        var listBytes: [UInt8] = []
        for key in keys {
            let packed = positions[key]!
            var bytes: [UInt8] = []
            bytes.reserveCapacity(packed.count * 8)
            for value in packed { bytes.append(le: value) }
            let list = PositionList(start: listStart, count: packed.count, crc: bytes.withUnsafeBytes { CRC32C.checksum($0) },
                                    lastOffset: PackedPosition.offset(packed.last ?? 0, base: segment.baseOffset))
            lists[key] = list
            appendName(key, to: &summary)
            summary.append(le: list.lastOffset)
            summary.append(le: UInt32(list.count))
            summary.append(le: UInt64(list.start))
            summary.append(le: list.crc)
            listStart += bytes.count
            listBytes += bytes
        }
        let crc = summary.withUnsafeBytes { CRC32C.checksum($0) }
        summary.append(le: crc)
        return (summary + listBytes, lists)
    }

    private static func appendName(_ name: String, to bytes: inout [UInt8]) {
        bytes.append(le: UInt16(name.utf8.count))
        bytes.append(contentsOf: name.utf8)
    }

    /// Writes the index of a sealed segment (not synced: a lost or torn one is rebuilt from the segment).
    static func write(_ segment: SegmentIndex, positions: [String: [UInt64]]) throws(LogError) -> [String: PositionList] {
        // A name too long for its 16-bit length (a destination near the record format's limit) leaves the segment without an index.
        guard (Array(positions.keys) + Array(segment.destinationBytes.keys)).allSatisfy({ $0.utf8.count <= Int(UInt16.max) }) else {
            throw LogError.layout("a destination of segment \(segment.fileName) is too long for its index file")
        }
        let (bytes, lists) = encode(segment, positions: positions)
        let path = path(ofSegment: segment.path)
        let temporary = path + ".tmp"
        let file = try LogFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try file.write(bytes, at: 0)
        guard rename(temporary, path) == 0 else { throw LogError.io(operation: "rename", path: temporary, errno: errno) }
        return lists
    }

    /// What the index file says about the segment, or why it cannot be used. `header` is the
    /// segment's header as read from the segment, `fileSize` its size.
    static func load(segmentPath: String, fileName: String, header: SegmentHeader, fileSize: Int) -> Result<SegmentIndex, IndexProblem> {
        let path = path(ofSegment: segmentPath)
        guard access(path, F_OK) == 0 else { return .failure(IndexProblem("it has no index file")) }
        let bytes: [UInt8]
        do throws(LogError) {
            let file = try LogFile(path: path, flags: O_RDONLY)
            let fixed = try file.read(count: fixedSize, at: 0)
            guard fixed.count == fixedSize else { return .failure(IndexProblem("its index file is cut short")) }
            let summaryLength = fixed.withUnsafeBytes { Int(truncatingIfNeeded: $0.loadLE(UInt64.self, at: 168)) }
            guard summaryLength >= fixedSize, summaryLength < RecordFormat.maximumLength else {
                return .failure(IndexProblem("its index file is damaged"))
            }
            bytes = try file.read(count: summaryLength + 4, at: 0)
        } catch {
            return .failure(IndexProblem("its index file cannot be read: \(error)"))
        }
        return bytes.withUnsafeBytes { raw in decode(raw, path: segmentPath, fileName: fileName, header: header, fileSize: fileSize) }
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, path: String, fileName: String, header: SegmentHeader,
                               fileSize: Int) -> Result<SegmentIndex, IndexProblem> {
        guard raw.loadLE(UInt32.self, at: 0) == magic, raw.loadLE(UInt16.self, at: 4) == version else {
            return .failure(IndexProblem("its index file is not a version \(version) segment index"))
        }
        let endOffset = raw.loadLE(UInt64.self, at: 16)
        let firstTimestamp = Int64(bitPattern: raw.loadLE(UInt64.self, at: 24))
        let lastTimestamp = Int64(bitPattern: raw.loadLE(UInt64.self, at: 32))
        let lastPosition = Int(truncatingIfNeeded: raw.loadLE(UInt64.self, at: 40))
        let lastChain = ChainHash(bytes: Array(UnsafeRawBufferPointer(rebasing: raw[48..<80])))
        guard Array(UnsafeRawBufferPointer(rebasing: raw[80..<152])) == header.encoded() else {
            return .failure(IndexProblem("its index file was made for another segment header"))
        }
        guard Int(truncatingIfNeeded: raw.loadLE(UInt64.self, at: 8)) == fileSize else {
            return .failure(IndexProblem("its index file was made when the segment had \(raw.loadLE(UInt64.self, at: 8)) bytes, not \(fileSize)"))
        }
        let entryCount = Int(raw.loadLE(UInt32.self, at: 152))
        let destinationCount = Int(raw.loadLE(UInt32.self, at: 156))
        let listCount = Int(raw.loadLE(UInt32.self, at: 160))
        var segment = SegmentIndex(fileName: fileName, path: path, header: header)
        var cursor = fixedSize
        func need(_ count: Int) -> Bool { cursor + count <= raw.count }
        func name() -> String? {
            guard need(2) else { return nil }
            let length = Int(raw.loadLE(UInt16.self, at: cursor))
            guard need(2 + length) else { return nil }
            defer { cursor += 2 + length }
            return String(decoding: UnsafeRawBufferPointer(rebasing: raw[cursor + 2..<cursor + 2 + length]), as: UTF8.self)
        }
        let cutShort = IndexProblem("its index file is cut short")
        guard need(entryCount * 24) else { return .failure(cutShort) }
        for _ in 0..<entryCount {
            segment.entries.append(IndexEntry(offset: raw.loadLE(UInt64.self, at: cursor),
                                              timestamp: Int64(bitPattern: raw.loadLE(UInt64.self, at: cursor + 8)),
                                              position: Int(truncatingIfNeeded: raw.loadLE(UInt64.self, at: cursor + 16))))
            cursor += 24
        }
        for _ in 0..<destinationCount {
            guard let destination = name(), need(8) else { return .failure(cutShort) }
            segment.destinationBytes[destination] = Int(truncatingIfNeeded: raw.loadLE(UInt64.self, at: cursor))
            cursor += 8
        }
        var lists: [String: PositionList] = [:]
        for _ in 0..<listCount {
            guard let key = name(), need(24) else { return .failure(cutShort) }
            lists[key] = PositionList(start: Int(truncatingIfNeeded: raw.loadLE(UInt64.self, at: cursor + 12)), count: Int(raw.loadLE(UInt32.self, at: cursor + 8)),
                                      crc: raw.loadLE(UInt32.self, at: cursor + 20), lastOffset: raw.loadLE(UInt64.self, at: cursor))
            cursor += 24
        }
        guard need(4) else { return .failure(IndexProblem("its index file is cut short")) }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<cursor]))
        guard crc == raw.loadLE(UInt32.self, at: cursor) else { return .failure(IndexProblem("its index file fails its checksum")) }
        // Checked as well as summed: a file written to fool the checksum must not send a reader astray.
        let inside = SegmentHeader.size..<fileSize
        guard endOffset >= header.baseOffset, endOffset - header.baseOffset <= UInt64(fileSize),
              lists.values.allSatisfy({ UInt64($0.count) <= endOffset - header.baseOffset }),
              inside.contains(lastPosition), segment.entries.allSatisfy({ inside.contains($0.position) }),
              segment.destinationBytes.values.allSatisfy({ $0 >= 0 }), lists.values.allSatisfy({ $0.start >= cursor + 4 }) else {
            return .failure(IndexProblem("its index file names places outside the segment"))
        }
        segment.restore(endOffset: endOffset, size: fileSize, firstTimestamp: firstTimestamp == .min ? nil : firstTimestamp,
                        lastTimestamp: lastTimestamp == .min ? nil : lastTimestamp, lastChain: lastChain, lastRecordPosition: lastPosition,
                        positionLists: lists)
        return .success(segment)
    }

    /// The packed positions of `list`, or nil when the file no longer holds them intact.
    static func positions(_ list: PositionList, segmentPath: String) throws(LogError) -> [UInt64]? {
        let file = try LogFile(path: path(ofSegment: segmentPath), flags: O_RDONLY)
        let bytes = try file.read(count: list.count * 8, at: list.start)
        guard bytes.count == list.count * 8, bytes.withUnsafeBytes({ CRC32C.checksum($0) }) == list.crc else { return nil }
        return bytes.withUnsafeBytes { raw in (0..<list.count).map { raw.loadLE(UInt64.self, at: $0 * 8) } }
    }

    /// Every `sealedSpacing` bytes, the first entry at or after it.
    static func coarse(_ entries: [IndexEntry], segmentSize: Int) -> [IndexEntry] {
        let spacing = sealedSpacing(segmentSize: segmentSize)
        var kept: [IndexEntry] = []
        var nextPosition = 0
        for entry in entries where entry.position >= nextPosition {
            kept.append(entry)
            nextPosition = entry.position + spacing
        }
        return kept
    }

    static func remove(ofSegment segmentPath: String) {
        unlink(path(ofSegment: segmentPath))
    }
}

/// Why a segment's index file was not used (start-up then scans the segment).
struct IndexProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
