import Foundation
import Synchronization
import MusterBroker
import MusterStomp
public import MusterLog
public import MusterProtocol

/// Who keeps a log: its jurisdiction, a random id and when it got them. Recorded once in the log
/// itself (the evidence) and kept in DATA/log-identity.json beside it (so that start-up finds it
/// without reading the log), with the offset of its record.
public struct LogIdentity: Codable, Sendable, Equatable {
    public let jurisdiction: String
    public let logID: String
    /// Milliseconds since 1970.
    public let created: Int64
    /// Where its record is in the log.
    public let offset: UInt64

    static func file(in dataDirectory: String) -> String { "\(dataDirectory)/log-identity.json" }

    /// The identity kept beside a log (nil: none yet, or unreadable), for offline tools.
    public static func read(dataDirectory: String) -> LogIdentity? {
        FileManager.default.contents(atPath: file(in: dataDirectory)).flatMap { try? JSONDecoder().decode(LogIdentity.self, from: $0) }
    }

    /// The log's identity: read from DATA/log-identity.json (and checked against its record),
    /// else found in the log (the file was lost), else created and recorded now — the first
    /// record of a new log, or the next record of a log kept before identities existed.
    public static func establish(log: MessageLog, dataDirectory: String, jurisdiction: String, broker: PartyIdentity,
                                 clock: @Sendable () -> Int64) throws -> (identity: LogIdentity, created: Bool) {
        let path = file(in: dataDirectory)
        if let data = FileManager.default.contents(atPath: path) {
            let identity: LogIdentity
            do { identity = try JSONDecoder().decode(LogIdentity.self, from: data) } catch {
                throw ConfigurationError(file: path, key: "", problem: "is not a log identity (\(error)); remove it and the broker finds the identity in the log")
            }
            try identity.check(against: log, file: path)
            try identity.belongs(to: jurisdiction, file: path)
            return (identity, false)
        }
        if let found = try find(in: log) {
            try found.belongs(to: jurisdiction, file: path)
            try DurableFile.replace(path, with: try found.encoded())
            return (found, false)
        }
        // Retention may have removed the record with the oldest segments: then the file was its
        // only copy, and a new identity would give the same log a second id.
        guard log.firstOffset == 0 else {
            throw ConfigurationError(file: path, key: "", problem: "is missing, and the log's oldest records (with its identity record) were "
                                     + "removed by retention: restore the file from a backup of the data directory")
        }
        let created = try record(in: log, jurisdiction: jurisdiction, broker: broker, now: clock())
        try DurableFile.replace(path, with: try created.encoded())
        return (created, true)
    }

    init?(record: LogRecord) {
        guard record.kind == .message, record.destination == LogIdentityHeader.destination.description,
              let logID = record.header(LogIdentityHeader.logID), let jurisdiction = record.header(LogIdentityHeader.jurisdiction),
              let created = record.header(LogIdentityHeader.created).flatMap({ Int64($0) }) else { return nil }
        self.init(jurisdiction: jurisdiction, logID: logID, created: created, offset: record.offset)
    }

    init(jurisdiction: String, logID: String, created: Int64, offset: UInt64) {
        self.jurisdiction = jurisdiction
        self.logID = logID
        self.created = created
        self.offset = offset
    }

    private func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The file must describe this log: its record is where the file says (unless retention
    /// has since removed that part of the log).
    private func check(against log: MessageLog, file: String) throws {
        guard offset >= log.firstOffset else { return }
        let records = try log.cursor(from: offset).next(maxRecords: 1, maxBytes: 1 << 20)
        // Retention running meanwhile may have just removed it.
        if records.first?.offset != offset, offset < log.firstOffset { return }
        guard let record = records.first, record.offset == offset, LogIdentity(record: record) == self else {
            throw ConfigurationError(file: file, key: "", problem: "names log \(logID) at offset \(offset), but the log there holds no such record: "
                                     + "the file belongs to another log; remove it and the broker finds the identity in the log")
        }
    }

    private func belongs(to jurisdiction: String, file: String) throws {
        guard self.jurisdiction == jurisdiction else {
            throw ConfigurationError(file: file, key: "", problem: "this log (\(logID)) is kept by jurisdiction '\(self.jurisdiction)', "
                                     + "but broker.jurisdiction is '\(jurisdiction)': a log keeps its jurisdiction; start with another data-directory")
        }
    }

    /// The identity record in the log, when the file was lost: the log knows the last record of
    /// each destination, so this reads one record, not the log.
    private static func find(in log: MessageLog) throws -> LogIdentity? {
        guard let offset = log.lastOffset(for: LogIdentityHeader.destination.description) else { return nil }
        let records = try log.cursor(from: offset).next(maxRecords: 1, maxBytes: 1 << 20)
        return records.first.flatMap(LogIdentity.init(record:))
    }

    private static func record(in log: MessageLog, jurisdiction: String, broker: PartyIdentity, now: Int64) throws -> LogIdentity {
        let logID = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        var headers = StompHeaders()
        headers.append(LogIdentityHeader.logID, logID)
        headers.append(LogIdentityHeader.jurisdiction, jurisdiction)
        headers.append(LogIdentityHeader.created, String(now))
        let body = #"{"jurisdiction":"\#(jurisdiction)","logId":"\#(logID)","created":\#(now)}"#
        let publication = Publication(destination: LogIdentityHeader.destination, headers: headers, body: Array(body.utf8), sender: broker)
        // The completion runs once the record is synced.
        let appended = Mutex<Result<AppendedRecord, LogError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        log.append(LogEntry(publication)) { result in
            appended.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        log.waitUntilDurable()  // with log.fsync: interval(MS) the completion comes before the sync
        guard let result = appended.withLock({ $0 }) else { throw LogError.closed }
        return LogIdentity(jurisdiction: jurisdiction, logID: logID, created: now, offset: try result.get().offset)
    }
}
