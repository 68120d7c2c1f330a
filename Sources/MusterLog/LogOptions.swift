import Glibc

/// When the log calls fdatasync.
public enum FsyncPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Before any append completes (and so before any RECEIPT): the default. Appends that
    /// arrive while a sync runs share the next one (group commit).
    case always
    /// At most every so many milliseconds; appends complete once written to the page cache.
    /// A power cut can lose up to that much acknowledged data.
    case interval(milliseconds: Int)

    /// Parses `always` or `interval(MS)`.
    public init?(_ text: String) {
        let trimmed = text.trimmingWhitespace
        if trimmed == "always" { self = .always; return }
        guard trimmed.hasPrefix("interval("), trimmed.hasSuffix(")"),
              let milliseconds = Int(trimmed.dropFirst("interval(".count).dropLast()), milliseconds > 0 else { return nil }
        self = .interval(milliseconds: milliseconds)
    }

    public var description: String {
        switch self {
        case .always: return "always"
        case .interval(let milliseconds): return "interval(\(milliseconds))"
        }
    }
}

/// How the log is laid out and when it syncs.
public struct LogOptions: Sendable {
    /// The broker's data directory; segments live in its `log` folder.
    public var dataDirectory: String
    /// A segment is closed and a new one started once it would grow past this.
    public var segmentBytes: Int
    public var fsync: FsyncPolicy
    /// Off when empty: nothing is ever deleted.
    public var retention: [RetentionRule]
    /// Milliseconds since 1970.
    public var clock: @Sendable () -> Int64
    /// Receives notices worth logging (segments pruned by retention, for example).
    public var notice: @Sendable (String) -> Void = { _ in }
    /// Start-up reads every segment, checking every record's chain hash, instead of taking
    /// sealed segments from their index files (which it then writes again).
    public var verifyAll = false
    /// The largest segment: a record's byte position in its segment must fit in 32 bits
    /// (segment index files pack it so).
    public static let maximumSegmentBytes = 1 << 31
    /// How long after an urgent append the writer keeps its batches short (`LogWriter.urgentBatchLimit`).
    public var urgentBatchWindow: Duration = .seconds(2)

    public init(dataDirectory: String, segmentBytes: Int = 64 << 20, fsync: FsyncPolicy = .always,
                retention: [RetentionRule] = [], clock: @escaping @Sendable () -> Int64 = { LogClock.milliseconds() }) {
        self.dataDirectory = dataDirectory
        self.segmentBytes = segmentBytes
        self.fsync = fsync
        self.retention = retention
        self.clock = clock
    }

    public var logDirectory: String { Self.logDirectory(in: dataDirectory) }

    public static func logDirectory(in dataDirectory: String) -> String { dataDirectory + "/log" }
}

public enum LogClock {
    public static func milliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
