import Glibc

/// Brings the log on disk to a consistent state before the broker serves it: creates it when
/// absent, scans every record (of sealed segments whose index file matches them, only the last:
/// `LogOptions.verifyAll` reads them all), cuts off a torn tail, removes a segment whose
/// creation a crash interrupted, and refuses (throws) when anything else is damaged.
struct LogRecovery {
    let options: LogOptions

    func recover(progress: (Int, Int) -> Void) throws(LogError) -> (ScanResult, RecoveryReport) {
        let directory = options.logDirectory
        try LogFile.makeDirectories(directory)
        var scanner = LogScanner(directory: directory, dataDirectory: options.dataDirectory)
        scanner.loadIndexes = !options.verifyAll
        scanner.writeIndexes = true
        scanner.notice = options.notice
        var scan = try scanner.scan(progress: progress)
        let unfinishedSegment = scan.unfinishedSegment
        if let unfinished = unfinishedSegment {
            try LogFile.remove(directory + "/" + unfinished)
            try LogFile.syncDirectory(directory)
            if let last = scan.segments.last {
                // The segment before it is the active one again: it is read as such (its positions
                // kept in memory), without an index file.
                SegmentIndexFile.remove(ofSegment: last.path)
                scan = try scanner.scan(progress: progress)
            }
        }
        if let torn = scan.tornTail {
            let file = try LogFile(path: directory + "/" + torn.segment, flags: O_WRONLY)
            try file.truncate(to: torn.position)
            try file.sync()
        }
        for leftover in scan.leftoverPrunedSegments {
            try LogFile.remove(directory + "/" + leftover)
            SegmentIndexFile.remove(ofSegment: directory + "/" + leftover)
        }
        try Self.removeOrphanIndexFiles(in: directory, segments: scan.segments)
        if !scan.leftoverPrunedSegments.isEmpty { try LogFile.syncDirectory(directory) }
        if scan.segments.isEmpty {
            let header = SegmentHeader(baseOffset: 0, created: options.clock(), previousChain: .genesis)
            scan.segments.append(try Self.createSegment(header, in: directory))
        }
        let report = RecoveryReport(records: scan.records, segments: scan.segments.count, head: scan.head,
                                    truncated: scan.tornTail, removedSegment: unfinishedSegment,
                                    prunedHead: scan.prunedHead, recordsRead: scan.recordsRead,
                                    segmentsFromIndexes: scan.segmentsFromIndexes)
        return (scan, report)
    }

    /// Index files are caches of their segments: those of no segment (and half-written ones) go.
    private static func removeOrphanIndexFiles(in directory: String, segments: [SegmentIndex]) throws(LogError) {
        let kept = Set(segments.map { SegmentIndexFile.path(ofSegment: $0.path) })
        for name in try LogFile.list(directory) where name.hasSuffix(SegmentIndexFile.suffix) || name.hasSuffix(SegmentIndexFile.suffix + ".tmp") {
            let path = directory + "/" + name
            if !kept.contains(path) { try LogFile.remove(path) }
        }
    }

    /// Creates a segment file holding only its header, synced with its directory entry.
    static func createSegment(_ header: SegmentHeader, in directory: String) throws(LogError) -> SegmentIndex {
        let fileName = SegmentName.fileName(baseOffset: header.baseOffset)
        let path = directory + "/" + fileName
        do throws(LogError) {
            let file = try LogFile(path: path, flags: O_WRONLY | O_CREAT | O_EXCL)
            try file.write(header.encoded(), at: 0)
            try file.sync()
            try LogFile.syncDirectory(directory)
        } catch {
            unlink(path)
            throw error
        }
        return SegmentIndex(fileName: fileName, path: path, header: header)
    }
}

extension LogFile {
    static func remove(_ path: String) throws(LogError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw LogError.io(operation: "remove", path: path, errno: errno) }
    }
}
