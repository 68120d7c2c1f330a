/// A sparse index entry: where a record starts in its segment.
struct IndexEntry: Sendable {
    let offset: UInt64
    let timestamp: Int64
    let position: Int
}

/// What the log knows about one segment without reading it: its range, its times, a sparse
/// index (one entry per `spacing` bytes) and how many bytes each destination has in it.
struct SegmentIndex: Sendable {
    let fileName: String
    let path: String
    let header: SegmentHeader
    /// The offset after the last durable record.
    var endOffset: UInt64
    /// Bytes of the file that hold durable records (the header included).
    var size: Int
    var firstTimestamp: Int64?
    var lastTimestamp: Int64?
    var lastChain: ChainHash
    var entries: [IndexEntry] = []
    var destinationBytes: [String: Int] = [:]
    /// Where the last record starts (nil: no record yet).
    private(set) var lastRecordPosition: Int?
    /// For a sealed segment with an index file: where each destination's record positions are
    /// in it (nil for the active segment, whose positions `ActivePositions` holds).
    private(set) var positionLists: [String: PositionList]?
    private var lastIndexedPosition: Int?

    static let spacing = 4096

    init(fileName: String, path: String, header: SegmentHeader) {
        self.fileName = fileName
        self.path = path
        self.header = header
        self.endOffset = header.baseOffset
        self.size = SegmentHeader.size
        self.lastChain = header.previousChain
    }

    var baseOffset: UInt64 { header.baseOffset }
    var isEmpty: Bool { endOffset == baseOffset }

    /// Accounts for a record that now ends the segment.
    mutating func add(offset: UInt64, timestamp: Int64, chain: ChainHash, destination: String, position: Int, size recordSize: Int) {
        if lastIndexedPosition.map({ position - $0 >= Self.spacing }) ?? true {
            entries.append(IndexEntry(offset: offset, timestamp: timestamp, position: position))
            lastIndexedPosition = position
        }
        if firstTimestamp == nil { firstTimestamp = timestamp }
        lastTimestamp = timestamp
        lastChain = chain
        endOffset = offset + 1
        size = position + recordSize
        destinationBytes[destination, default: 0] += recordSize
        lastRecordPosition = position
    }

    /// Takes what a segment's index file says (the segment is sealed and matched it).
    mutating func restore(endOffset: UInt64, size: Int, firstTimestamp: Int64?, lastTimestamp: Int64?, lastChain: ChainHash,
                          lastRecordPosition: Int, positionLists: [String: PositionList]) {
        self.endOffset = endOffset
        self.size = size
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.lastChain = lastChain
        self.lastRecordPosition = endOffset > baseOffset ? lastRecordPosition : nil
        self.positionLists = positionLists
    }

    /// Once its index file is written: the sealed segment keeps the lists' places and fewer sparse entries.
    mutating func seal(positionLists: [String: PositionList]) {
        self.positionLists = positionLists
        entries = SegmentIndexFile.coarse(entries, segmentSize: size)
    }

    /// Where to start reading to find `offset`: the last indexed record at or before it.
    func startPosition(for offset: UInt64) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].offset <= offset { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? SegmentHeader.size : entries[low - 1].position
    }

    /// Where to start reading to find the first record stamped at or after `timestamp`.
    func startPosition(forTimestamp timestamp: Int64) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].timestamp < timestamp { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? SegmentHeader.size : entries[low - 1].position
    }
}
