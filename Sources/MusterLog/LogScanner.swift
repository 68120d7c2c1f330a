import Glibc

/// Bytes at the end of the last segment that are not a whole valid record: a write the
/// crash interrupted, or garbage appended. Recovery cuts them off; verification reports them.
/// A complete record that does not check out is never a torn tail (`SegmentReader.judgeTail`).
public struct TornTail: Sendable, CustomStringConvertible {
    public let segment: String
    public let position: Int
    public let fileSize: Int
    public let reason: String

    public var description: String {
        "\(fileSize - position) bytes at the end of segment \(segment) (from byte \(position)) are not a whole record: \(reason)"
    }
}

/// The outcome of reading the whole log from its first segment to its end.
struct ScanResult {
    var segments: [SegmentIndex] = []
    var tornTail: TornTail?
    /// A last segment whose header never reached the disk (a crash while rolling).
    var unfinishedSegment: String?
    /// Segments wholly before the pruned head that a crash left behind while pruning.
    var leftoverPrunedSegments: [String] = []
    /// Where the remaining chain is anchored when old segments were pruned.
    var prunedHead: LogHead?
    var records = 0
    var bytes = 0
    /// True when `visit` ended the scan early.
    var stoppedEarly = false
    var lastOffsetByDestination: [String: UInt64] = [:]
    /// With `LogScanner.writeIndexes`: the last segment's record positions by destination.
    var activePositions: [String: [UInt64]] = [:]
    /// Segments taken from their index files, and records read (the rest).
    var segmentsFromIndexes = 0
    var recordsRead = 0

    /// The last record's offset and chain, or nil for an empty log.
    var head: LogHead? {
        guard let last = segments.last(where: { !$0.isEmpty }) else { return nil }
        return LogHead(offset: last.endOffset - 1, chain: last.lastChain)
    }
}

/// Reads every segment in order, checking each record's CRC, offset, timestamp order and
/// chain link, and each segment's anchor. Throws `LogError.corrupt` at the first damage
/// that is not a torn tail.
struct LogScanner {
    let directory: String
    /// The data directory, for the commands error messages suggest.
    let dataDirectory: String
    /// Checks chain hashes (SHA-256 per record) as well as CRCs.
    var verifyChain = true
    /// Start-up: a sealed segment whose index file matches it is not read (SegmentIndexFile);
    /// a sealed segment read through gets its index file (`writeIndexes`). Verification leaves
    /// both off; `LogOptions.verifyAll` only loads none.
    var loadIndexes = false
    var writeIndexes = false
    /// Receives what start-up should say (a segment index that was not used, and why).
    var notice: (String) -> Void = { _ in }

    static let prunedHeadFile = "pruned-head"

    /// `visit` sees each valid record with its segment file name; returning false stops the scan.
    func scan(visit: (LogRecord, String) throws(LogError) -> Bool = { _, _ throws(LogError) in true },
              progress: (_ records: Int, _ bytes: Int) -> Void = { _, _ in }) throws(LogError) -> ScanResult {
        var result = ScanResult()
        var files = try segmentFiles()
        result.prunedHead = try readPrunedHead()
        if let pruned = result.prunedHead {
            // A segment whose successor starts at or before the pruned head's successor was
            // being deleted when the broker stopped; it is no longer part of the log.
            while files.count > 1, files[1].1 <= pruned.offset + 1 {
                result.leftoverPrunedSegments.append(files.removeFirst().0)
            }
        }
        var expectedOffset: UInt64? = nil
        var previousChain = ChainHash.genesis
        var previousTimestamp = Int64.min
        var stopped = false
        for (number, (fileName, base)) in files.enumerated() where !stopped {
            let isLast = number == files.count - 1
            let path = directory + "/" + fileName
            let reader = try SegmentReader(path: path, fileName: fileName)
            let fileSize = try reader.file.size
            let header: SegmentHeader
            switch try reader.header() {
            case .success(let parsed):
                header = parsed
            case .failure(let problem):
                let reason = problem.reason
                if isLast && fileSize <= SegmentHeader.size && (number > 0 || base == 0) {
                    result.unfinishedSegment = fileName
                    continue
                }
                throw corrupt(fileName, position: 0, offset: base, "segment header: \(reason)")
            }
            guard header.baseOffset == base else {
                throw corrupt(fileName, position: 16, offset: base, "the header says base offset \(header.baseOffset) but the file name says \(base)")
            }
            if let expected = expectedOffset {
                guard base == expected else {
                    throw corrupt(fileName, position: 16, offset: base, "segment starts at offset \(base) but the previous segment ends before offset \(expected): records are missing")
                }
                guard header.previousChain == previousChain else {
                    throw corrupt(fileName, position: 32, offset: base, "the segment's anchor does not match the chain hash of offset \(expected - 1): the chain is broken")
                }
            } else {
                try checkFirstAnchor(header, fileName: fileName, pruned: result.prunedHead)
            }
            previousChain = header.previousChain
            if loadIndexes, !isLast {
                switch indexed(fileName: fileName, path: path, header: header, fileSize: fileSize, reader: reader, after: previousTimestamp) {
                case .success(let segment):
                    result.segments.append(segment)
                    result.segmentsFromIndexes += 1
                    result.records += Int(segment.endOffset - base)
                    result.bytes += segment.size - SegmentHeader.size
                    for (key, list) in segment.positionLists ?? [:] {
                        let destination = PositionKey.destination(of: key)
                        result.lastOffsetByDestination[destination] = max(result.lastOffsetByDestination[destination] ?? 0, list.lastOffset)
                    }
                    previousChain = segment.lastChain
                    previousTimestamp = segment.lastTimestamp ?? previousTimestamp
                    expectedOffset = segment.endOffset
                    continue
                case .failure(let problem):
                    notice("reading segment \(fileName) at start-up: \(problem)")
                    reader.seek(to: SegmentHeader.size)  // checking the index may have read its last record
                }
            }
            var segment = SegmentIndex(fileName: fileName, path: path, header: header)
            var positions: [String: [UInt64]] = [:]
            var offset = base
            scanning: while true {
                switch try reader.next(limit: fileSize) {
                case .end:
                    break scanning
                case .bad(let position, let reason, let incomplete):
                    // The writer preallocates the active segment: zeros from here to the end of
                    // the last segment are space for the next records, not damage.
                    if isLast, try reader.isZeroFilled(from: position, limit: fileSize) { break scanning }
                    // Only the end of the last segment can be torn, and only when no valid record
                    // follows: a record in the middle whose length field was damaged also looks
                    // incomplete, and cutting it off would throw away the records after it.
                    if isLast, try !reader.validRecordExists(after: position, limit: fileSize) {
                        // Even the last record is cut off only when its bytes stop short: a
                        // complete record that does not check out may have been receipted.
                        switch try reader.judgeTail(at: position, limit: fileSize, reason: reason, incomplete: incomplete) {
                        case .torn(let why):
                            result.tornTail = TornTail(segment: fileName, position: position, fileSize: fileSize, reason: why)
                            break scanning
                        case .damaged(let why):
                            throw corrupt(fileName, position: position, offset: offset, why)
                        }
                    }
                    throw corrupt(fileName, position: position, offset: offset, reason)
                case .record(let record, let position):
                    guard record.offset == offset else {
                        throw corrupt(fileName, position: position, offset: offset, "found offset \(record.offset) where offset \(offset) belongs: a record was removed, inserted or moved")
                    }
                    guard record.timestamp >= previousTimestamp else {
                        throw corrupt(fileName, position: position, offset: offset, "timestamp \(record.timestamp) is earlier than the previous record's \(previousTimestamp)")
                    }
                    if verifyChain {
                        let expected = try reader.chainHash(ofRecordAt: position, size: record.size, previous: previousChain)
                        guard expected == record.chain else {
                            throw corrupt(fileName, position: position, offset: offset, "chain hash mismatch: the record or one before it was altered, removed or reordered")
                        }
                    }
                    previousChain = record.chain
                    previousTimestamp = record.timestamp
                    segment.add(offset: offset, timestamp: record.timestamp, chain: record.chain,
                                destination: record.destination, position: position, size: record.size)
                    result.lastOffsetByDestination[record.destination] = offset
                    if writeIndexes {
                        positions[PositionKey.of(record.kind, destination: record.destination), default: []].append(PackedPosition.pack(offset: offset, base: base, position: position))
                    }
                    result.records += 1
                    result.recordsRead += 1
                    result.bytes += record.size
                    if try !visit(record, fileName) { stopped = true }
                    if result.records & 0xFFF == 0 { progress(result.records, result.bytes) }
                    offset += 1
                    if stopped { break scanning }
                }
            }
            expectedOffset = offset
            if writeIndexes && isLast {
                result.activePositions = positions
            } else if writeIndexes && !segment.isEmpty && !stopped {
                do throws(LogError) {
                    segment.seal(positionLists: try SegmentIndexFile.write(segment, positions: positions))
                } catch {
                    notice("could not write the index of segment \(fileName) (start-up reads the segment until it can): \(error)")
                }
            }
            result.segments.append(segment)
        }
        result.stoppedEarly = stopped
        progress(result.records, result.bytes)
        return result
    }

    /// A sealed segment as its index file describes it, when the file matches the segment: the
    /// same header and size, and a last record that checks out (CRC) with the offset, time and
    /// chain hash the index names. The records before it are not read (`muster log verify` and
    /// `muster serve --verify-all` read them all).
    private func indexed(fileName: String, path: String, header: SegmentHeader, fileSize: Int, reader: SegmentReader,
                         after previousTimestamp: Int64) -> Result<SegmentIndex, IndexProblem> {
        let segment: SegmentIndex
        switch SegmentIndexFile.load(segmentPath: path, fileName: fileName, header: header, fileSize: fileSize) {
        case .success(let loaded): segment = loaded
        case .failure(let problem): return .failure(problem)
        }
        guard !segment.isEmpty, let lastPosition = segment.lastRecordPosition else { return .failure(IndexProblem("its index names no records")) }
        guard (segment.firstTimestamp ?? .min) >= previousTimestamp else { return .failure(IndexProblem("its index's first time is before the previous record's")) }
        reader.seek(to: lastPosition)
        let step: SegmentReader.Step
        do throws(LogError) { step = try reader.next(limit: fileSize) } catch { return .failure(IndexProblem("its last record cannot be read: \(error)")) }
        guard case .record(let last, let position) = step, position + last.size == fileSize else {
            return .failure(IndexProblem("no whole record ends the segment where its index says the last one starts"))
        }
        guard last.offset + 1 == segment.endOffset, last.chain == segment.lastChain, last.timestamp == segment.lastTimestamp else {
            return .failure(IndexProblem("its last record does not have the offset, time and chain hash its index names"))
        }
        return .success(segment)
    }

    /// Segment files sorted by base offset.
    func segmentFiles() throws(LogError) -> [(String, UInt64)] {
        try LogFile.list(directory)
            .compactMap { name in SegmentName.baseOffset(of: name).map { (name, $0) } }
            .sorted { $0.1 < $1.1 }
    }

    private func checkFirstAnchor(_ header: SegmentHeader, fileName: String, pruned: LogHead?) throws(LogError) {
        if header.baseOffset == 0 {
            guard header.previousChain == .genesis else {
                throw corrupt(fileName, position: 32, offset: 0, "the first segment's anchor is not the genesis hash (all zeros)")
            }
            return
        }
        guard let pruned else {
            throw corrupt(fileName, position: 16, offset: header.baseOffset,
                          "the log starts at offset \(header.baseOffset) but no pruned head is recorded in \(Self.prunedHeadFile): earlier segments are missing")
        }
        guard pruned.offset + 1 == header.baseOffset, pruned.chain == header.previousChain else {
            throw corrupt(fileName, position: 32, offset: header.baseOffset,
                          "the recorded pruned head \(pruned) does not anchor this segment")
        }
    }

    private func readPrunedHead() throws(LogError) -> LogHead? {
        let path = directory + "/" + Self.prunedHeadFile
        guard access(path, F_OK) == 0 else { return nil }
        let file = try LogFile(path: path, flags: O_RDONLY)
        let text = String(decoding: try file.read(count: 256, at: 0), as: UTF8.self).trimmingWhitespace
        guard let head = LogHead(text) else {
            throw LogError.layout("\(path) must hold OFFSET:HASH (the last pruned record), but holds '\(text)'")
        }
        return head
    }

    private func corrupt(_ segment: String, position: Int, offset: UInt64?, _ reason: String) -> LogError {
        .corrupt(segment: segment, position: position, offset: offset, reason: reason, directory: dataDirectory)
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
