import Dispatch
import Foundation
import MusterFederation
import MusterLog
import MusterProtocol
@testable import MusterServer
import MusterTestSupport
import Synchronization
import Testing

/// Where an import link stands, found in the importer's own log: the furthest record taken from
/// the peer, read from the hint onwards when the hint names such a record, the hint's position
/// when retention pruned every taken record, and a warning (not a halt: a new peer on a pruned
/// log looks the same) without either.
@Suite("finding an import link's position in the log")
struct ImportPositionsTests {
    static let peerLog = "a1b2"

    /// Appends a record and waits until it is durable; returns its offset.
    @discardableResult
    static func append(_ log: MessageLog, _ destination: String = "/topic/joint.patrol", headers: [LogHeader] = []) throws -> UInt64 {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<UInt64, LogError>?>(nil)
        log.append(LogEntry(destination: destination, headers: headers, body: Array("x".utf8))) { outcome in
            result.withLock { $0 = outcome.map(\.offset) }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// A record taken from `peer` at `offset` of its log (what an import or a refusal record carries).
    static func taken(_ offset: UInt64, from peer: String = "jinshan", lane: LinkLane = .bulk) -> [LogHeader] {
        [LogHeader(FederationHeader.origin, "\(peerLog)/\(offset)"), LogHeader(FederationHeader.originHash, "h\(offset)"),
         LogHeader(FederationHeader.link, "\(peerLog)/\(offset)"), LogHeader(FederationHeader.via, peer)]
            + (lane == .urgent ? [LogHeader(FederationHeader.lane, "urgent")] : [])
    }

    @Test func eachLaneHasItsOwnPositionAndHint() throws {
        let directory = try TemporaryDirectory(prefix: "muster-import-positions")
        defer { directory.remove() }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        let bulk = ImportPositions.Link(peer: "jinshan", lane: .bulk), urgent = ImportPositions.Link(peer: "jinshan", lane: .urgent)
        try Self.append(log, headers: Self.taken(3))
        let urgentOffset = try Self.append(log, headers: Self.taken(40, lane: .urgent))
        try Self.append(log, headers: Self.taken(4))
        let positions = ImportPositions(dataDirectory: directory.path, log: log)
        #expect(try positions.find(bulk).position?.offset == 4, "the urgent lane's record 40 is not the bulk lane's position")
        #expect(try positions.find(urgent).position?.offset == 40)
        positions.taken(urgent, localOffset: urgentOffset, position: ImportLink.Position(logID: Self.peerLog, offset: 40, hash: "h40"))
        positions.flush()
        #expect(FileManager.default.fileExists(atPath: directory.file("federation/jinshan.urgent.position")))
        #expect(!FileManager.default.fileExists(atPath: directory.file("federation/jinshan.position")))
        let hinted = try positions.find(urgent)
        #expect(hinted.usedHint && hinted.position?.offset == 40)
        #expect(try !positions.find(bulk).usedHint)
    }

    @Test func theFurthestRecordTakenFromThePeerIsThePositionWhateverTheLogOrder() throws {
        let directory = try TemporaryDirectory(prefix: "muster-import-positions")
        defer { directory.remove() }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        try Self.append(log, headers: Self.taken(5))
        try Self.append(log, "/topic/local")
        try Self.append(log, headers: Self.taken(7))
        try Self.append(log, headers: Self.taken(6))  // stored after 7: an append failed and was retried
        try Self.append(log, headers: Self.taken(99, from: "hangzhou"))
        let found = try ImportPositions(dataDirectory: directory.path, log: log).find(.init(peer: "jinshan", lane: .bulk))
        #expect(found.position == ImportLink.Position(logID: Self.peerLog, offset: 7, hash: "h7"))
        #expect(!found.usedHint && found.recordsRead == 5 && found.warning == nil)
        let fresh = try ImportPositions(dataDirectory: directory.path, log: log).find(.init(peer: "pinghu", lane: .bulk))
        #expect(fresh.position == nil && fresh.warning == nil, "a link that never took anything starts from the peer's first record")
    }

    @Test func aHintNamingATakenRecordIsWhereTheReadStarts() throws {
        let directory = try TemporaryDirectory(prefix: "muster-import-positions")
        defer { directory.remove() }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        for _ in 0..<50 { try Self.append(log, "/topic/local") }
        let local = try Self.append(log, headers: Self.taken(3))
        try Self.append(log, "/topic/local")
        try Self.append(log, headers: Self.taken(4))
        let positions = ImportPositions(dataDirectory: directory.path, log: log)
        positions.taken(.init(peer: "jinshan", lane: .bulk), localOffset: local, position: ImportLink.Position(logID: Self.peerLog, offset: 3, hash: "h3"))
        positions.flush()
        let found = try positions.find(.init(peer: "jinshan", lane: .bulk))
        #expect(found.usedHint && found.recordsRead == 3, "read \(found.recordsRead) records")
        #expect(found.position?.offset == 4, "records taken after the hint count")

        // A hint that names no taken record (the log was repaired since) is not trusted.
        try "10 \(Self.peerLog) 3 h3\n".write(toFile: directory.file("federation/jinshan.position"), atomically: true, encoding: .utf8)
        let untrusted = try positions.find(.init(peer: "jinshan", lane: .bulk))
        #expect(!untrusted.usedHint && untrusted.position?.offset == 4)
    }

    @Test func whenRetentionPrunedEveryTakenRecordTheHintSaysWhereAndWithoutItTheStartIsSaidAloud() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-import-positions")
        defer { directory.remove() }
        let now = Atomic<Int64>(1_000_000)
        var options = LogOptions(dataDirectory: directory.path, segmentBytes: 64 << 10,
                                 retention: [RetentionRule(destination: "*", maxAgeMilliseconds: 60_000)], clock: { now.load(ordering: .relaxed) })
        var log = try MessageLog.open(options)
        let local = try Self.append(log, headers: Self.taken(12))
        let filler = [LogHeader("filler", String(repeating: "x", count: 4000))]
        for _ in 0..<40 { try Self.append(log, "/topic/local", headers: filler) }
        let positions = ImportPositions(dataDirectory: directory.path, log: log)
        positions.taken(.init(peer: "jinshan", lane: .bulk), localOffset: local, position: ImportLink.Position(logID: Self.peerLog, offset: 12, hash: "h12"))
        positions.flush()
        log.close()

        // An hour later every segment but the newest goes as the log opens.
        now.store(1_000_000 + 3_600_000, ordering: .relaxed)
        options.retention = [RetentionRule(destination: "*", maxAgeMilliseconds: 60_000)]
        log = try MessageLog.open(options)
        defer { log.close() }
        try await eventually("retention to prune the old segments") { log.firstOffset > local }
        let hinted = try ImportPositions(dataDirectory: directory.path, log: log).find(.init(peer: "jinshan", lane: .bulk))
        #expect(hinted.position == ImportLink.Position(logID: Self.peerLog, offset: 12, hash: "h12") && hinted.warning == nil)

        try FileManager.default.removeItem(atPath: directory.file("federation/jinshan.position"))
        let lost = try ImportPositions(dataDirectory: directory.path, log: log).find(.init(peer: "jinshan", lane: .bulk))
        #expect(lost.position == nil)
        #expect(lost.warning?.contains("the link starts from jinshan's first record") == true, "\(String(describing: lost.warning))")
    }
}
