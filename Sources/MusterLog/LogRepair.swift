import Glibc

/// The first damaged place a full scan of the log found (what `MessageLog.open` refuses).
public struct LogDamage: Sendable, CustomStringConvertible {
    public let segment: String
    /// The byte in the segment: where the damaged record starts, or a header field (below 72).
    public let position: Int
    public let offset: UInt64
    public let reason: String

    /// True when a record is damaged (not a segment header, a gap between segments or an anchor).
    public var isRecord: Bool { position >= SegmentHeader.size }

    public var description: String { "offset \(offset) (segment \(segment), byte \(position)): \(reason)" }
}

/// Why a repair changed nothing.
public struct LogRepairRefusal: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// What a repair removed and where it kept it.
public struct LogRepairOutcome: Sendable {
    /// The first record removed.
    public let offset: UInt64
    /// The segment that was cut, and the byte it was cut at.
    public let segment: String
    public let position: Int
    /// The damage the repair removed (nil when forced on a log that verified).
    public let damage: LogDamage?
    public let forced: Bool
    /// Bytes removed from the log: the cut segment's tail and any later segments.
    public let removedBytes: Int
    /// Paths of the files that hold the removed bytes (in the log directory).
    public let quarantine: [String]
    /// The log after the repair.
    public let records: Int
    public let head: LogHead?
    /// The line appended to `DATA/repairs`.
    public let entry: String
}

/// An explicit, recorded cut of a damaged log, for when the damaged segment cannot be
/// restored from a backup or replica. It gives up the damaged record and every record after
/// it; before anything is cut, those bytes are copied to a quarantine file next to the segment
/// (later segments are renamed instead), so that the evidence stays; then the repair is
/// appended to `DATA/repairs`. It refuses to cut anywhere but at the first damaged record
/// unless forced, and never past it. The broker must not be running (the caller checks).
/// Schemas/log-format.md, section 13, describes the files.
public struct LogRepair: Sendable {
    /// The file in the data directory that lists every repair, one line each.
    public static let recordFile = "repairs"

    public let dataDirectory: String
    /// Milliseconds since 1970, for the quarantine names and the record.
    public var clock: @Sendable () -> Int64 = { LogClock.milliseconds() }

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    private var logDirectory: String { LogOptions.logDirectory(in: dataDirectory) }

    /// The first damage in the log, or nil when it verifies (a torn tail is not damage: the
    /// broker cuts it off when it starts).
    public func findDamage() throws -> LogDamage? {
        try survey(locating: nil).damage
    }

    /// Cuts the log so that `offset` is the next record written: the record there and every
    /// record after it are removed, after being copied to quarantine files.
    ///
    /// Without `force`, `offset` must be the first damaged record. With `force`, it may be any
    /// record at or before the first damage (or any record of a log that verifies).
    /// Throws `LogError.locked` while a broker has the log open.
    public func truncate(from offset: UInt64, force: Bool = false, note: String? = nil) throws -> LogRepairOutcome {
        var isDirectory = false
        guard fileExists(logDirectory, isDirectory: &isDirectory), isDirectory else {
            throw LogRepairRefusal(description: "no log at \(logDirectory): pass the broker's data directory (data-directory in muster.yaml) with --data")
        }
        // Before the survey: what it reads must not change under it.
        let lock = try LogDirectoryLock(logDirectory: logDirectory)
        defer { withExtendedLifetime(lock) {} }
        let survey = try survey(locating: offset)
        let damage = survey.damage
        if let damage, offset > damage.offset {
            throw LogRepairRefusal(description: "the log is damaged before offset \(offset), at \(damage); cutting from \(offset) would "
                + "leave that damage in the log, so nothing was cut. Cut from offset \(damage.offset)")
        }
        // Cutting exactly at the first damaged record is the repair; anything else gives up
        // records that check out, and is done only when forced.
        let atTheDamage = damage.map { $0.isRecord && $0.offset == offset } ?? false
        if !atTheDamage && !force {
            switch damage {
            case let damage? where damage.isRecord:
                throw LogRepairRefusal(description: "offset \(offset) checks out; the first damaged record is \(damage). "
                    + "Nothing was cut. Cut from offset \(damage.offset), or pass --force to give up the records from \(offset) on as well")
            case let damage?:
                throw LogRepairRefusal(description: "the log is damaged outside any record, at \(damage). A repair cuts records, not "
                    + "segments: restore the segment from a backup or replica (or, with --force, give up every record from an earlier "
                    + "offset on). Nothing was cut")
            case nil:
                let torn = survey.tornTail.map { "; \($0), which the broker cuts off when it starts (it never got a receipt)" } ?? ""
                throw LogRepairRefusal(description: "the log verifies (\(survey.records) records, head \(survey.head.map { "\($0)" } ?? "none"))"
                    + "\(torn). Nothing is damaged, so nothing was cut; pass --force to give up records that check out")
            }
        }
        let cut: (segment: String, position: Int)
        if atTheDamage, let damage {
            cut = (damage.segment, damage.position)
        } else if let located = survey.located {
            cut = located
        } else {
            let holds = survey.head.map { "the log holds offsets \(survey.firstOffset) to \($0.offset)" } ?? "the log holds no record"
            throw LogRepairRefusal(description: "there is no record at offset \(offset) to cut from (\(holds)\(damage.map { " before the damage at offset \($0.offset)" } ?? "")). Nothing was cut")
        }
        return try perform(cutAt: cut, offset: offset, damage: damage, forced: !atTheDamage, note: note)
    }

    // MARK: Survey

    private struct Survey {
        var damage: LogDamage?
        var located: (segment: String, position: Int)?
        var records = 0
        var head: LogHead?
        var firstOffset: UInt64 = 0
        var tornTail: TornTail?
    }

    /// Scans the whole log: the first damage, and where the record `offset` starts.
    private func survey(locating offset: UInt64?) throws -> Survey {
        var isDirectory = false
        guard fileExists(logDirectory, isDirectory: &isDirectory), isDirectory else {
            throw LogRepairRefusal(description: "no log at \(logDirectory): pass the broker's data directory (data-directory in muster.yaml) with --data")
        }
        var survey = Survey()
        var segment = ""
        var position = 0
        var first: UInt64?
        var last: LogHead?
        var count = 0
        let scanner = LogScanner(directory: logDirectory, dataDirectory: dataDirectory)
        do throws(LogError) {
            let scan = try scanner.scan(visit: { record, fileName throws(LogError) in
                if fileName != segment {
                    segment = fileName
                    position = SegmentHeader.size
                }
                if record.offset == offset { survey.located = (fileName, position) }
                if first == nil { first = record.offset }
                last = LogHead(offset: record.offset, chain: record.chain)
                count += 1
                position += record.size
                return true
            })
            survey.tornTail = scan.tornTail
            survey.firstOffset = scan.segments.first?.baseOffset ?? 0
        } catch {
            guard case .corrupt(let segment, let position, let damaged?, let reason, _) = error else { throw error }
            survey.damage = LogDamage(segment: segment, position: position, offset: damaged, reason: reason)
            survey.firstOffset = first ?? 0
        }
        survey.records = count
        survey.head = last
        return survey
    }

    // MARK: Cutting

    private func perform(cutAt cut: (segment: String, position: Int), offset: UInt64, damage: LogDamage?, forced: Bool,
                         note: String?) throws -> LogRepairOutcome {
        let directory = logDirectory
        let now = clock()
        let stamp = Self.compactTime(now)
        guard let base = SegmentName.baseOffset(of: cut.segment) else { throw LogError.layout("\(cut.segment) is not a segment name") }
        let later = try LogFile.list(directory)
            .compactMap { name in SegmentName.baseOffset(of: name).map { (name, $0) } }
            .filter { $0.1 > base }
            .sorted { $0.1 > $1.1 }  // the newest first: a crash half-way leaves the log a prefix of itself

        // 1. Copy the bytes to be cut to a quarantine file, durably, before anything changes.
        let segmentPath = directory + "/" + cut.segment
        let file = try LogFile(path: segmentPath, flags: O_RDWR)
        let size = try file.size
        var quarantineNames: [String] = []
        let copyName = try Self.freshName(cut.segment + ".quarantine-\(offset)-\(stamp)", in: directory)
        let copy = try LogFile(path: directory + "/" + copyName, flags: O_WRONLY | O_CREAT | O_EXCL)
        var at = cut.position
        while at < size {
            let bytes = try file.read(count: min(size - at, 1 << 20), at: at)
            if bytes.isEmpty { break }
            try copy.write(bytes, at: at - cut.position)
            at += bytes.count
        }
        try copy.sync()
        quarantineNames.append(copyName)
        var removed = size - cut.position

        // 2. Move the later segments out of the log (a name that is not a segment's is ignored).
        for (name, _) in later {
            let target = try Self.freshName(name + ".quarantine-\(offset)-\(stamp)", in: directory)
            var status = stat()
            if stat(directory + "/" + name, &status) == 0 { removed += Int(status.st_size) }
            guard rename(directory + "/" + name, directory + "/" + target) == 0 else {
                throw LogError.io(operation: "rename", path: directory + "/" + name, errno: errno)
            }
            quarantineNames.append(target)
        }
        try LogFile.syncDirectory(directory)

        // 3. Cut.
        try file.truncate(to: cut.position)
        try file.sync()

        // 4. The log must now verify; record the repair.
        let after = try LogScanner(directory: directory, dataDirectory: dataDirectory).scan()
        let why: String
        switch (damage, forced) {
        case (let damage?, false): why = "damaged: \(damage.reason)"
        case (let damage?, true): why = "forced; the first damage was at \(damage)"
        case (nil, _): why = "forced; the log verified"
        }
        var entry = "\(Self.isoTime(now)) cut the log from offset \(offset) (segment \(cut.segment), byte \(cut.position)); \(why); "
            + "removed \(removed) bytes, kept in \(quarantineNames.map { "log/" + $0 }.joined(separator: ", ")); "
            + "the log now holds \(after.records) records, head \(after.head.map { "\($0)" } ?? "none"); by \(Self.user())"
        if let note, !note.isEmpty { entry += "; note: \(note)" }
        entry = String(entry.map { $0.isNewline ? " " : $0 })
        try appendRecord(entry)
        return LogRepairOutcome(offset: offset, segment: cut.segment, position: cut.position, damage: damage, forced: forced,
                                removedBytes: removed, quarantine: quarantineNames.map { directory + "/" + $0 }, records: after.records, head: after.head, entry: entry)
    }

    /// Appends one line to `DATA/repairs`, durably.
    private func appendRecord(_ line: String) throws(LogError) {
        let path = dataDirectory + "/" + Self.recordFile
        let existed = access(path, F_OK) == 0
        let file = try LogFile(path: path, flags: O_WRONLY | O_CREAT | O_APPEND)
        let bytes = Array((line + "\n").utf8)
        let failure: Int32? = bytes.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let result = Glibc.write(file.descriptor, raw.baseAddress! + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += result
            }
            return nil
        }
        if let failure { throw LogError.io(operation: "write", path: path, errno: failure) }
        try file.sync()
        if !existed { try LogFile.syncDirectory(dataDirectory) }
    }

    /// `name`, or `name-2`, `name-3`... when a file of that name exists.
    private static func freshName(_ name: String, in directory: String) throws(LogError) -> String {
        var candidate = name
        var number = 1
        while access(directory + "/" + candidate, F_OK) == 0 {
            number += 1
            candidate = name + "-\(number)"
        }
        return candidate
    }

    private static func user() -> String {
        let uid = getuid()
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name { return "\(String(cString: name)) (uid \(uid))" }
        return "uid \(uid)"
    }

    /// 2026-01-01T00:00:00.000Z
    static func isoTime(_ milliseconds: Int64) -> String {
        let parts = utc(milliseconds)
        return "\(parts.date)T\(parts.time).\(pad(Int((milliseconds % 1000 + 1000) % 1000), 3))Z"
    }

    /// 20260101T000000Z (for file names)
    static func compactTime(_ milliseconds: Int64) -> String {
        let parts = utc(milliseconds)
        return parts.date.replacingAll("-") + "T" + parts.time.replacingAll(":") + "Z"
    }

    private static func utc(_ milliseconds: Int64) -> (date: String, time: String) {
        var seconds = time_t(milliseconds / 1000)
        var fields = tm()
        gmtime_r(&seconds, &fields)
        let date = "\(pad(Int(fields.tm_year) + 1900, 4))-\(pad(Int(fields.tm_mon) + 1, 2))-\(pad(Int(fields.tm_mday), 2))"
        let time = "\(pad(Int(fields.tm_hour), 2)):\(pad(Int(fields.tm_min), 2)):\(pad(Int(fields.tm_sec), 2))"
        return (date, time)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

private extension String {
    func replacingAll(_ character: Character) -> String { String(filter { $0 != character }) }
}
