import Glibc

/// Brings the log on disk to a consistent state before the broker serves it: creates it when
/// absent, scans every record, cuts off a torn tail, removes a segment whose creation a crash
/// interrupted, and refuses (throws) when anything else is damaged.
struct LogRecovery {
    let options: LogOptions

    func recover(progress: (Int, Int) -> Void) throws(LogError) -> (ScanResult, RecoveryReport) {
        let directory = options.logDirectory
        try LogFile.makeDirectories(directory)
        let scanner = LogScanner(directory: directory, dataDirectory: options.dataDirectory)
        var scan = try scanner.scan(progress: progress)
        if let unfinished = scan.unfinishedSegment {
            try LogFile.remove(directory + "/" + unfinished)
            try LogFile.syncDirectory(directory)
        }
        if let torn = scan.tornTail {
            let file = try LogFile(path: directory + "/" + torn.segment, flags: O_WRONLY)
            try file.truncate(to: torn.position)
            try file.sync()
        }
        for leftover in scan.leftoverPrunedSegments {
            try LogFile.remove(directory + "/" + leftover)
        }
        if !scan.leftoverPrunedSegments.isEmpty { try LogFile.syncDirectory(directory) }
        if scan.segments.isEmpty {
            let header = SegmentHeader(baseOffset: 0, created: options.clock(), previousChain: .genesis)
            scan.segments.append(try Self.createSegment(header, in: directory))
        }
        let report = RecoveryReport(records: scan.records, segments: scan.segments.count, head: scan.head,
                                    truncated: scan.tornTail, removedSegment: scan.unfinishedSegment,
                                    prunedHead: scan.prunedHead)
        return (scan, report)
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
