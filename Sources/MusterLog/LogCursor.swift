import Glibc

/// Reads durable records in offset order from a starting offset, a batch at a time, through
/// one open segment file and a bounded buffer. Not thread-safe: one reader, one cursor.
public final class LogCursor {
    private let log: MessageLog
    /// The offset the next record read will have.
    public private(set) var nextOffset: UInt64
    private var reader: SegmentReader?
    /// Set once retention deleted records before this cursor read them (it went on after them).
    public private(set) var skippedPrunedRecords = false
    private var readerBase: UInt64?

    init(log: MessageLog, offset: UInt64) {
        self.log = log
        self.nextOffset = offset
    }

    /// True when every durable record has been read.
    public var isAtHead: Bool { nextOffset >= log.nextOffset }

    /// Moves to another offset (the next `next` call reads from there).
    public func seek(to offset: UInt64) {
        nextOffset = offset
        reader = nil
        readerBase = nil
    }

    /// Up to `maxRecords` records (and about `maxBytes`), fewer at the durable head; empty when
    /// there is nothing new. Throws when a record fails its CRC or is out of place.
    public func next(maxRecords: Int = 256, maxBytes: Int = 1 << 20) throws(LogError) -> [LogRecord] {
        var records: [LogRecord] = []
        var bytes = 0
        while records.count < maxRecords && bytes < maxBytes {
            guard let (segment, isLast, durableEnd) = log.locate(nextOffset), nextOffset < durableEnd else { break }
            if nextOffset < segment.baseOffset {
                // Retention deleted what this cursor had not read yet: go on from what is left.
                nextOffset = segment.baseOffset
                skippedPrunedRecords = true
            }
            if nextOffset >= segment.endOffset {
                // This segment is read to its end; a newer one holds the rest.
                guard !isLast else { break }
                reader = nil
                readerBase = nil
                continue
            }
            if readerBase != segment.baseOffset {
                do throws(LogError) {
                    reader = try SegmentReader(path: segment.path, fileName: segment.fileName,
                                               position: segment.startPosition(for: nextOffset))
                } catch {
                    // Retention deleted the segment between finding it and opening it: go on from what is left.
                    if case .io(_, _, ENOENT) = error, log.firstOffset > segment.baseOffset { continue }
                    throw error
                }
                readerBase = segment.baseOffset
            }
            let reader = reader!
            let before = records.count
            reading: while records.count < maxRecords && bytes < maxBytes {
                switch try reader.next(limit: segment.size) {
                case .end:
                    break reading
                case .bad(let position, let reason, _):
                    throw LogError.corrupt(segment: segment.fileName, position: position, offset: nextOffset,
                                           reason: reason, directory: log.options.dataDirectory)
                case .record(let record, let position):
                    if record.offset < nextOffset { continue }
                    guard record.offset == nextOffset else {
                        throw LogError.corrupt(segment: segment.fileName, position: position, offset: nextOffset,
                                               reason: "found offset \(record.offset) where offset \(nextOffset) belongs",
                                               directory: log.options.dataDirectory)
                    }
                    records.append(record)
                    bytes += record.size
                    nextOffset += 1
                }
            }
            if records.count == before { break }
        }
        return records
    }
}
