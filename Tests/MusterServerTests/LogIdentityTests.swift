import Foundation
import MusterLog
import MusterProtocol
@testable import MusterServer
import MusterTestSupport
import Testing

/// Each log gets one identity (jurisdiction, random id, creation time), recorded once in the log
/// and kept beside it in DATA/log-identity.json.
@Suite("log identity")
struct LogIdentityTests {
    static let broker = PartyIdentity(jurisdiction: "jinshan", party: "broker")

    func establish(_ directory: TemporaryDirectory, jurisdiction: String = "jinshan", now: Int64 = 1_000)
        throws -> (identity: LogIdentity, created: Bool, records: [LogRecord]) {
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        let (identity, created) = try LogIdentity.establish(log: log, dataDirectory: directory.path, jurisdiction: jurisdiction,
                                                            broker: Self.broker, clock: { now })
        return (identity, created, try records(directory))
    }

    func records(_ directory: TemporaryDirectory) throws -> [LogRecord] {
        var records: [LogRecord] = []
        try LogArchive(dataDirectory: directory.path).forEach { records.append($0); return true }
        return records
    }

    func identityRecords(_ records: [LogRecord]) -> [LogRecord] {
        records.filter { $0.destination == LogIdentityHeader.destination.description }
    }

    @Test func aNewLogsFirstRecordIsItsIdentityAndLaterStartsKeepIt() throws {
        let directory = try TemporaryDirectory(prefix: "muster-identity")
        defer { directory.remove() }
        let first = try establish(directory)
        #expect(first.created)
        #expect(first.identity.offset == 0 && first.identity.jurisdiction == "jinshan" && first.identity.created == 1_000)
        #expect(first.identity.logID.count == 32 && first.identity.logID.allSatisfy(\.isHexDigit))
        let record = try #require(first.records.first)
        #expect(record.header(LogIdentityHeader.logID) == first.identity.logID)
        #expect(record.header(ReservedHeader.sender) == "broker" && record.header(ReservedHeader.senderJurisdiction) == "jinshan")

        let again = try establish(directory, now: 9_000)
        #expect(!again.created)
        #expect(again.identity == first.identity)
        #expect(identityRecords(again.records).count == 1)
    }

    @Test func twoLogsGetDifferentIDs() throws {
        let one = try TemporaryDirectory(prefix: "muster-identity")
        let two = try TemporaryDirectory(prefix: "muster-identity")
        defer { one.remove(); two.remove() }
        #expect(try establish(one).identity.logID != establish(two).identity.logID)
    }

    @Test func aLogKeptBeforeIdentitiesGetsOneAfterItsRecordsWhichStayAsTheyWere() throws {
        let directory = try TemporaryDirectory(prefix: "muster-identity")
        defer { directory.remove() }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        for index in 0..<5 {
            log.append(LogEntry(destination: "/topic/jinshan.patrol", headers: [], body: Array("patrol \(index)".utf8))) { _ in }
        }
        log.waitUntilDurable()
        log.close()
        let before = try records(directory)

        let established = try establish(directory)
        #expect(established.created)
        #expect(established.identity.offset == 5)
        #expect(Array(established.records.prefix(5)).map(\.chain) == before.map(\.chain), "the earlier records are untouched")
        #expect(identityRecords(established.records).map(\.offset) == [5])
        #expect(try LogArchive(dataDirectory: directory.path).verify().records == 6)
    }

    @Test func aLostIdentityFileIsFoundAgainInTheLog() throws {
        let directory = try TemporaryDirectory(prefix: "muster-identity")
        defer { directory.remove() }
        let first = try establish(directory)
        try FileManager.default.removeItem(atPath: LogIdentity.file(in: directory.path))
        let found = try establish(directory)
        #expect(!found.created)
        #expect(found.identity == first.identity)
        #expect(identityRecords(found.records).count == 1)
        #expect(FileManager.default.fileExists(atPath: LogIdentity.file(in: directory.path)))
    }

    @Test func aLostFileIsNotReplacedByANewIdentityOnceRetentionRemovedTheRecord() throws {
        let directory = try TemporaryDirectory(prefix: "muster-identity")
        defer { directory.remove() }
        let clock = ManualClock()
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 4096, retention: [RetentionRule(destination: "*", maxAgeMilliseconds: 1_000)],
                                 clock: clock.reading)
        let log = try MessageLog.open(options)
        _ = try LogIdentity.establish(log: log, dataDirectory: directory.path, jurisdiction: "jinshan", broker: Self.broker, clock: clock.reading)
        // Old segments full of patrol reports, then, much later, enough new ones to roll: retention drops the old.
        func fill(_ count: Int) {
            for index in 0..<count {
                log.append(LogEntry(destination: "/topic/jinshan.patrol", headers: [], body: Array(repeating: 0x70, count: 200 + index % 7))) { _ in }
            }
            log.waitUntilDurable()
        }
        fill(60)
        clock.advance(by: 60_000)
        fill(60)
        try #require(log.firstOffset > 0, "retention removed the oldest segments")
        log.close()
        try FileManager.default.removeItem(atPath: LogIdentity.file(in: directory.path))

        let reopened = try MessageLog.open(options)
        defer { reopened.close() }
        #expect { try LogIdentity.establish(log: reopened, dataDirectory: directory.path, jurisdiction: "jinshan", broker: Self.broker, clock: clock.reading) }
            throws: { error in "\(error)".contains("removed by retention") && "\(error)".contains("restore the file") }
    }

    @Test func anIdentityFileOfAnotherLogIsRefused() throws {
        let directory = try TemporaryDirectory(prefix: "muster-identity")
        let other = try TemporaryDirectory(prefix: "muster-identity")
        defer { directory.remove(); other.remove() }
        _ = try establish(directory)
        _ = try establish(other)
        try FileManager.default.removeItem(atPath: LogIdentity.file(in: directory.path))
        try FileManager.default.copyItem(atPath: LogIdentity.file(in: other.path), toPath: LogIdentity.file(in: directory.path))
        #expect { try establish(directory) } throws: { error in
            "\(error)".contains("belongs to another log") && "\(error)".contains("remove it")
        }
    }

    @Test func aLogKeepsItsJurisdiction() throws {
        let directory = try TemporaryDirectory(prefix: "muster-identity")
        defer { directory.remove() }
        _ = try establish(directory, jurisdiction: "jinshan")
        #expect { try establish(directory, jurisdiction: "pinghu") } throws: { error in
            "\(error)".contains("kept by jurisdiction 'jinshan'") && "\(error)".contains("'pinghu'")
        }
        #expect(identityRecords(try records(directory)).count == 1, "a refused start writes nothing")
    }
}
