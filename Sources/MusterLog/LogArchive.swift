/// The outcome of reading a log offline.
public struct LogVerification: Sendable {
    public let records: Int
    public let bytes: Int
    public let segments: Int
    /// The last record's offset and chain hash (nil for an empty log).
    public let head: LogHead?
    /// The oldest offset present (above 0 when retention pruned older segments).
    public let firstOffset: UInt64
    /// The anchor the remaining chain verifies from, when older segments were pruned.
    public let prunedHead: LogHead?
    /// Bytes at the end that are not a whole record (a crash mid-write); the broker cuts them off at start.
    public let tornTail: TornTail?
}

/// Read-only access to a log on disk, for auditors and forensic exports: nothing is repaired,
/// truncated or written.
public struct LogArchive: Sendable {
    public let dataDirectory: String

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// Checks every CRC, offset, timestamp order, segment anchor and chain link. With
    /// `expectHead`, also checks that an earlier head (written down by an auditor) is still
    /// part of today's log. Throws `LogError.corrupt` naming the first bad offset.
    public func verify(expectHead: LogHead? = nil, progress: (Int, Int) -> Void = { _, _ in }) throws(LogError) -> LogVerification {
        var seenExpected = false
        let scan = try scanner(verifyChain: true).scan(visit: { record, segment throws(LogError) in
            if let expectHead, record.offset == expectHead.offset {
                seenExpected = true
                guard record.chain == expectHead.chain else {
                    throw LogError.corrupt(segment: segment, position: 0, offset: record.offset,
                                           reason: "the chain hash here is \(record.chain.hex), not the expected \(expectHead.chain.hex): the log was rewritten at or before this offset",
                                           directory: dataDirectory)
                }
            }
            return true
        }, progress: progress)
        if let expectHead, !seenExpected {
            if let pruned = scan.prunedHead, pruned.offset == expectHead.offset {
                guard pruned.chain == expectHead.chain else {
                    throw LogError.layout("the pruned head \(pruned) does not match the expected head \(expectHead): the log was rewritten before it was pruned")
                }
            } else if let pruned = scan.prunedHead, expectHead.offset < pruned.offset {
                throw LogError.layout("offset \(expectHead.offset) was pruned by retention (the log now starts after \(pruned)); an expected head older than the pruned head cannot be checked")
            } else {
                throw LogError.layout("the log ends before offset \(expectHead.offset) (its head is \(scan.head.map { "\($0)" } ?? "empty")): records the auditor saw are missing")
            }
        }
        return verification(scan)
    }

    /// Reads records in order (checking CRCs and order, not the chain), handing each to `body`
    /// until it returns false. Records before damage are handed over before the error is thrown.
    @discardableResult
    public func forEach(progress: (Int, Int) -> Void = { _, _ in },
                        _ body: (LogRecord) throws(LogError) -> Bool) throws(LogError) -> LogVerification {
        let scan = try scanner(verifyChain: false).scan(visit: { record, _ throws(LogError) in try body(record) }, progress: progress)
        return verification(scan)
    }

    private func scanner(verifyChain: Bool) throws(LogError) -> LogScanner {
        let directory = LogOptions.logDirectory(in: dataDirectory)
        var isDirectory = false
        guard fileExists(directory, isDirectory: &isDirectory), isDirectory else {
            throw LogError.layout("no log at \(directory): pass the broker's data directory (data-directory in muster.yaml) with --data")
        }
        var scanner = LogScanner(directory: directory, dataDirectory: dataDirectory)
        scanner.verifyChain = verifyChain
        return scanner
    }

    private func verification(_ scan: ScanResult) -> LogVerification {
        LogVerification(records: scan.records, bytes: scan.bytes, segments: scan.segments.count, head: scan.head,
                        firstOffset: scan.segments.first?.baseOffset ?? 0, prunedHead: scan.prunedHead, tornTail: scan.tornTail)
    }
}
