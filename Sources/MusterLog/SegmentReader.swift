import Glibc

/// Reads one segment's records in order through a buffer, checking each record's CRC.
/// Used by recovery, verification, dumps and subscribers' cursors.
final class SegmentReader {
    enum Step {
        case record(LogRecord, position: Int)
        /// Reached `limit` exactly.
        case end
        /// The bytes at `position` are not a valid record. `incomplete` when the record runs past `limit`.
        case bad(position: Int, reason: String, incomplete: Bool)
    }

    let file: LogFile
    let fileName: String
    private(set) var position: Int
    private var buffer: [UInt8]
    private var bufferStart = 0
    private var bufferCount = 0
    static let chunk = 1 << 20
    /// How much a read fetches beyond what it needs: a chunk for reading through, less for a
    /// reader that jumps between one destination's records.
    private let readAhead: Int

    init(path: String, fileName: String, position: Int = SegmentHeader.size, readAhead: Int = SegmentReader.chunk) throws(LogError) {
        self.file = try LogFile(path: path, flags: O_RDONLY)
        self.fileName = fileName
        self.position = position
        self.buffer = []
        self.readAhead = readAhead
    }

    func seek(to position: Int) {
        self.position = position
    }

    /// The header of this segment.
    func header() throws(LogError) -> Result<SegmentHeader, HeaderProblem> {
        let bytes = try file.read(count: SegmentHeader.size, at: 0)
        return bytes.withUnsafeBytes { SegmentHeader.decode($0) }
    }

    /// The next record before `limit` (a byte position, usually the file's valid size).
    func next(limit: Int) throws(LogError) -> Step {
        guard position < limit else { return .end }
        var wanted = RecordFormat.headerSize
        while true {
            try fill(position, count: min(limit - position, wanted), limit: limit)
            // A file shorter than `limit` leaves fewer bytes in the buffer than asked for.
            let available = min(limit - position, wanted, bufferStart + bufferCount - position)
            let decoded = buffer.withUnsafeBytes { raw in
                let start = position - bufferStart
                return RecordFormat.decode(UnsafeRawBufferPointer(rebasing: raw[start..<start + available]))
            }
            switch decoded {
            case .record(let record):
                let at = position
                position += record.size
                return .record(record, position: at)
            case .invalid(let reason):
                return .bad(position: position, reason: reason, incomplete: false)
            case .incomplete(let needed):
                if position + needed > limit {
                    return .bad(position: position, reason: "the record needs \(needed) bytes but only \(limit - position) remain", incomplete: true)
                }
                // The file ends before `limit` (cut short under the reader): reading again would give the same.
                if available < min(limit - position, wanted) {
                    return .bad(position: position, reason: "the file ends at byte \(position + available), before the \(limit) bytes the log holds of it",
                                incomplete: true)
                }
                wanted = needed
            }
        }
    }

    /// Makes sure bytes [position, position + count) are in the buffer. Reads stop at `limit`:
    /// past it the active segment holds preallocated zeros that records will overwrite, and a
    /// cached copy of them must never be served later as if it were those records.
    private func fill(_ position: Int, count: Int, limit: Int = .max) throws(LogError) {
        if position >= bufferStart && position + count <= bufferStart + bufferCount { return }
        let size = min(max(readAhead, count), max(count, limit - position))
        if buffer.count < size { buffer = [UInt8](repeating: 0, count: size) }
        bufferStart = position
        bufferCount = try file.read(into: &buffer, range: 0..<size, at: position)
    }

    /// The chain hash the record just read at `position` should carry.
    func chainHash(ofRecordAt position: Int, size: Int, previous: ChainHash) throws(LogError) -> ChainHash {
        try fill(position, count: size)
        return buffer.withUnsafeBytes { raw in
            let start = position - bufferStart
            return RecordFormat.chainHash(of: UnsafeRawBufferPointer(rebasing: raw[start..<start + size]), previous: previous)
        }
    }

    /// Whether every byte from `position` to `limit` is zero (preallocated, never written).
    func isZeroFilled(from position: Int, limit: Int) throws(LogError) -> Bool {
        var candidate = position
        while candidate < limit {
            try fill(candidate, count: min(limit - candidate, Self.chunk))
            let available = min(limit - candidate, bufferStart + bufferCount - candidate)
            guard available > 0 else { return true }
            let zero = buffer.withUnsafeBytes { raw in
                raw[(candidate - bufferStart)..<(candidate - bufferStart + available)].allSatisfy { $0 == 0 }
            }
            guard zero else { return false }
            candidate += available
        }
        return true
    }

    /// True when a valid record starts anywhere after `position` (before `limit`): then a bad
    /// record at `position` is damage in the middle of the log, not a torn tail.
    func validRecordExists(after position: Int, limit: Int) throws(LogError) -> Bool {
        let magic = withUnsafeBytes(of: RecordFormat.magic.littleEndian) { Array($0) }
        var candidate = position + 1
        while candidate + RecordFormat.headerSize <= limit {
            try fill(candidate, count: min(limit - candidate, Self.chunk))
            let start = candidate - bufferStart
            let found: Int? = buffer.withUnsafeBytes { raw in
                let window = raw[start..<bufferCount]
                var index = window.startIndex
                while index + 4 <= window.endIndex {
                    if raw[index] == magic[0] && raw[index + 1] == magic[1] && raw[index + 2] == magic[2] && raw[index + 3] == magic[3] {
                        return index - start
                    }
                    index += 1
                }
                return nil
            }
            guard let found else {
                candidate = bufferStart + bufferCount - 3
                if bufferStart + bufferCount >= limit { return false }
                continue
            }
            let at = candidate + found
            seek(to: at)
            if case .record = try next(limit: limit) { return true }
            candidate = at + 1
        }
        return false
    }

    // MARK: Torn write or damage

    /// What the invalid bytes at `position` in the last segment are, when they are not all zeros
    /// and no valid record follows them (Schemas/log-format.md, section 9).
    enum TailVerdict {
        /// A write cut short by a crash: recovery may cut it off.
        case torn(String)
        /// A complete record that is not what was written: nothing may be cut on a guess.
        case damaged(String)
    }

    /// The smallest unit a disk writes whole. A write cut short by a crash stops at such a
    /// boundary of the file (a killed `pwrite` stops at a page boundary, a multiple of it), and
    /// what it did not write reads as zeros (preallocated space) or is not there at all.
    static let sectorSize = 512

    /// Tells a torn write from a damaged record, from the bytes on disk alone. `reason` and
    /// `incomplete` are what `next` said about the record at `position`.
    ///
    /// - The record is *whole* when its stored CRC32C matches its bytes, taking its length from
    ///   its length field or from its payload's own length fields: then only a field the CRC
    ///   does not cover (magic, version, kind, length) was altered. Damage.
    /// - Otherwise a record that runs past `limit`, or whose header does not parse, is torn.
    /// - A record whose `length` bytes are all present is torn only if every byte from the last
    ///   sector boundary inside it to `limit` is zero: its write stopped at that boundary. A record
    ///   whose own bytes go on past that boundary was written whole, so it is damage.
    func judgeTail(at position: Int, limit: Int, reason: String, incomplete: Bool) throws(LogError) -> TailVerdict {
        if let whole = try wholeRecordLength(at: position, limit: limit) {
            return .damaged("\(reason), yet the record is whole: the CRC32C stored in it matches its \(whole) bytes, so a field "
                + "the CRC does not cover (magic, version, kind or length) was altered after it was written; this is not a write cut short")
        }
        guard !incomplete, let length = try plausibleLength(at: position, limit: limit), position + length <= limit else {
            return .torn(reason)
        }
        let lastBoundary = (position + length - 1) / Self.sectorSize * Self.sectorSize
        if lastBoundary > position, try isZeroFilled(from: lastBoundary, limit: limit) {
            return .torn("\(reason); from byte \(lastBoundary), a \(Self.sectorSize)-byte boundary inside the record, to the end "
                + "of the segment there are only zeros: a write cut short")
        }
        return .damaged("\(reason); all \(length) bytes of the record are present and they do not stop at a "
            + "\(Self.sectorSize)-byte boundary with only zeros after it, so this is not a write cut short: "
            + "the record was altered after it was written")
    }

    /// The record's length when its magic and version are right and its length field is
    /// possible (whether or not all of it is there).
    private func plausibleLength(at position: Int, limit: Int) throws(LogError) -> Int? {
        guard let magic = try loadU32(at: position, limit: limit), magic == RecordFormat.magic,
              let version = try loadU8(at: position + 4, limit: limit), version == RecordFormat.version,
              let length = try loadU32(at: position + 8, limit: limit).map(Int.init),
              length >= RecordFormat.headerSize + 8, length <= RecordFormat.maximumLength else { return nil }
        return length
    }

    /// The length at which the record at `position` is whole by its own CRC32C: its length
    /// field, or the length its payload's fields add up to. Nil when neither matches.
    private func wholeRecordLength(at position: Int, limit: Int) throws(LogError) -> Int? {
        guard limit - position >= RecordFormat.headerSize + 8, let stored = try loadU32(at: position + 12, limit: limit) else { return nil }
        var candidates: [Int] = []
        if let field = try loadU32(at: position + 8, limit: limit).map(Int.init),
           field >= RecordFormat.headerSize + 8, field <= min(RecordFormat.maximumLength, limit - position) {
            candidates.append(field)
        }
        if let payload = try payloadLength(at: position + RecordFormat.headerSize, limit: limit),
           !candidates.contains(RecordFormat.headerSize + payload) {
            candidates.append(RecordFormat.headerSize + payload)
        }
        for length in candidates where try checksum(from: position + RecordFormat.crcStart, to: position + length) == stored {
            return length
        }
        return nil
    }

    /// How many bytes the payload starting at `start` takes by its own length fields, if they
    /// all lie before `limit`.
    private func payloadLength(at start: Int, limit: Int) throws(LogError) -> Int? {
        let end = min(limit, start + RecordFormat.maximumLength - RecordFormat.headerSize)
        var cursor = start
        func skip(_ count: Int) -> Bool {
            cursor += count
            return cursor <= end
        }
        guard let destination = try loadU16(at: cursor, limit: end), skip(2 + Int(destination)),
              let count = try loadU16(at: cursor, limit: end), skip(2) else { return nil }
        for _ in 0..<count {
            guard let name = try loadU16(at: cursor, limit: end), skip(2 + Int(name)),
                  let value = try loadU32(at: cursor, limit: end), skip(4 + Int(value)) else { return nil }
        }
        guard let body = try loadU32(at: cursor, limit: end), skip(4 + Int(body)) else { return nil }
        return cursor - start
    }

    /// CRC32C of the bytes `start..<end` (nil when the file ends before `end`).
    private func checksum(from start: Int, to end: Int) throws(LogError) -> UInt32? {
        var crc: UInt32 = 0
        var at = start
        while at < end {
            try fill(at, count: min(end - at, Self.chunk), limit: end)
            let available = min(end - at, bufferStart + bufferCount - at)
            guard available > 0 else { return nil }
            crc = buffer.withUnsafeBytes { raw in
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(at - bufferStart)..<(at - bufferStart + available)]), continuing: crc)
            }
            at += available
        }
        return crc
    }

    private func loadU8(at position: Int, limit: Int) throws(LogError) -> UInt8? {
        try load(UInt8.self, at: position, limit: limit)
    }

    private func loadU16(at position: Int, limit: Int) throws(LogError) -> UInt16? {
        try load(UInt16.self, at: position, limit: limit)
    }

    private func loadU32(at position: Int, limit: Int) throws(LogError) -> UInt32? {
        try load(UInt32.self, at: position, limit: limit)
    }

    private func load<T: FixedWidthInteger>(_ type: T.Type, at position: Int, limit: Int) throws(LogError) -> T? {
        let size = MemoryLayout<T>.size
        guard position + size <= limit else { return nil }
        try fill(position, count: size, limit: limit)
        guard position >= bufferStart, position + size <= bufferStart + bufferCount else { return nil }
        return buffer.withUnsafeBytes { $0.loadLE(T.self, at: position - bufferStart) }
    }
}
