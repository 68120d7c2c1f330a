import Glibc

/// Why the log refused something. Every description says what went wrong and what to do.
public enum LogError: Error, Sendable, CustomStringConvertible {
    /// A record (or segment header) that is not what was written: the log must not be served.
    case corrupt(segment: String, position: Int, offset: UInt64?, reason: String, directory: String)
    /// A system call on a log file failed.
    case io(operation: String, path: String, errno: Int32)
    /// An earlier fsync failed; the log accepts nothing more until the broker restarts and recovers.
    case unavailable(reason: String)
    /// The log's files are not laid out as this build expects.
    case layout(String)
    /// The log is closed.
    case closed
    /// Another process (a broker, or `muster log repair`) holds the log's lock.
    case locked(directory: String, holder: Int32?)
    /// Another append of the record's `AppendSequence` failed, so it was not stored either.
    case sequenceBroken

    public var description: String {
        switch self {
        case .corrupt(let segment, let position, let offset, let reason, let directory):
            let at = offset.map { "offset \($0) (byte \(position))" } ?? "byte \(position)"
            var text = "log segment \(segment) is damaged at \(at): \(reason). Nothing past it is served. "
                + "Inspect it with `muster log verify --data \(directory)` and `muster log dump --data \(directory) --from offset=\(offset ?? 0)`; "
                + "restore the segment from a backup or replica before starting the broker"
            if let offset, position >= SegmentHeader.size {
                text += ", or give up offset \(offset) and every record after it with "
                    + "`muster log repair --data \(directory) --truncate-from \(offset)`, which keeps the bytes it cuts in a quarantine "
                    + "file next to the segment and records the repair in \(directory)/\(LogRepair.recordFile)"
            }
            return text
        case .io(let operation, let path, let code):
            let advice = code == ENOSPC || code == EDQUOT || code == EFBIG
                ? "the disk (or the file-size limit) is full: free space or move the data directory, then retry"
                : "check the disk and the permissions of the data directory"
            return "\(operation) \(path) failed: \(String(cString: strerror(code))) (errno \(code)); \(advice)"
        case .unavailable(let reason):
            return "the log stopped accepting messages: \(reason). Restart the broker so that it recovers the log from disk"
        case .layout(let problem):
            return problem
        case .closed:
            return "the log is closed (the broker is shutting down)"
        case .locked(let directory, let holder):
            let who = holder.map { "process \($0)" } ?? "another process"
            return "the log in \(directory) is in use by \(who) (a broker, or `muster log repair`): "
                + "stop it first; one process at a time may change a log"
        case .sequenceBroken:
            return "not stored, because another record of its sequence (a federation link's imports) was not: "
                + "the link takes them again from the first of them"
        }
    }

    /// True when the failure came from a full disk (or quota).
    public var isDiskFull: Bool {
        if case .io(_, _, let code) = self { return code == ENOSPC || code == EDQUOT || code == EFBIG }
        return false
    }
}
