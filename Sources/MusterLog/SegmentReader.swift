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
    private static let chunk = 1 << 20

    init(path: String, fileName: String, position: Int = SegmentHeader.size) throws(LogError) {
        self.file = try LogFile(path: path, flags: O_RDONLY)
        self.fileName = fileName
        self.position = position
        self.buffer = []
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
                wanted = needed
            }
        }
    }

    /// Makes sure bytes [position, position + count) are in the buffer. Reads stop at `limit`:
    /// past it the active segment holds preallocated zeros that records will overwrite, and a
    /// cached copy of them must never be served later as if it were those records.
    private func fill(_ position: Int, count: Int, limit: Int = .max) throws(LogError) {
        if position >= bufferStart && position + count <= bufferStart + bufferCount { return }
        let size = min(max(Self.chunk, count), max(count, limit - position))
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

    /// True when a valid record starts anywhere after `position` (before `limit`): then a bad
    /// record at `position` is damage in the middle of the log, not a torn tail.
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
}
