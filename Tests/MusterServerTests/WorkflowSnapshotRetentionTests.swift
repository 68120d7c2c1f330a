import Foundation
import Logging
import MusterBroker
import MusterLog
import MusterProtocol
@testable import MusterServer
import MusterTestSupport
import Synchronization
import Testing

/// The workflow state restored from a snapshot and the log after it must be one a reading of
/// the log could give: when retention removed records the snapshot (or the replica that writes
/// it) never took, the snapshot cannot stand.
@Suite struct WorkflowSnapshotRetentionTests {
    static let audit = RefusalRecord.destination.description

    /// A refusal by an admission list: the workflow book counts it (`admissionRefusals`), with `time` = index.
    private static func refusal(_ index: Int) -> LogEntry {
        let body = #"{"code":"not-admitted","party":"p\#(index)","jurisdiction":"jinshan","time":\#(index)}"#
        return LogEntry(destination: audit, headers: [LogHeader("content-type", "application/json")], body: Array(body.utf8))
    }

    private static func append(_ log: MessageLog, _ range: Range<Int>) throws {
        let failures = Mutex<[LogError]>([])
        let done = DispatchSemaphore(value: 0)
        for index in range {
            log.append(refusal(index)) { result in
                if case .failure(let error) = result { failures.withLock { $0.append(error) } }
                done.signal()
            }
        }
        for _ in range { done.wait() }
        try failures.withLock { if let first = $0.first { throw first } }
    }

    private struct Fixture {
        let directory: String
        let clock = ManualClock(1_000_000)
        var options: LogOptions {
            LogOptions(dataDirectory: directory, segmentBytes: 4096,
                       retention: [RetentionRule(destination: WorkflowSnapshotRetentionTests.audit, maxAgeMilliseconds: 1000)],
                       clock: clock.reading)
        }
    }

    private static func fixture() -> Fixture {
        Fixture(directory: FileManager.default.temporaryDirectory.appendingPathComponent("muster-wfsnap-\(UUID().uuidString)").path)
    }

    /// Old records go once the clock moved past their max-age and the log rolls.
    private static func pruneAllButTheActiveSegment(_ log: MessageLog, _ fixture: Fixture, from next: inout Int) throws {
        fixture.clock.advance(by: 5_000)
        let first = log.firstOffset
        var appended = 0
        while log.firstOffset == first {
            try append(log, next..<next + 1)
            next += 1
            appended += 1
            try #require(appended < 500, "retention never ran")
        }
    }

    private static func times(_ state: WorkflowRecovery) -> [Int64] { state.book.admissionRefusals.map(\.time) }

    /// A snapshot through offset k; retention then removes segments past k (records k..<first
    /// the snapshot never took). Start-up takes the snapshot (its check skips a snapshot whose
    /// last record is gone) and reads on from the log's first offset: the state misses k..<first.
    @Test func aSnapshotBelowTheLogsFirstOffsetIsNotUsed() throws {
        let fixture = Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let log = try MessageLog.open(fixture.options)
        defer { log.close() }
        try Self.append(log, 0..<100)
        var next = 100
        // The snapshot a broker wrote early on: it took records 0..<5.
        var partial = WorkflowRecovery()
        let cursor = log.cursor(from: 0)
        let firstFive = try cursor.next(maxRecords: 5)
        for record in firstFive { partial.take(record) }
        try WorkflowSnapshot(through: 5, chain: firstFive.last!.chain.hex, state: partial).save(in: fixture.directory)

        try Self.pruneAllButTheActiveSegment(log, fixture, from: &next)
        try #require(log.firstOffset > 5)

        let full = try WorkflowRecovery.read(log)
        let restored = try WorkflowRestore.read(log, dataDirectory: fixture.directory) { _ in }
        let everything = (0..<Int64(next)).map { $0 }
        let got = Self.times(restored.state)
        // Either the snapshot is refused (the state is the log's), or nothing is missing; never a state with a hole.
        #expect(got == Self.times(full) || got == everything,
                "restored \(got.count) refusals (snapshot through 5, log from \(log.firstOffset)): \(got.prefix(8))…; the log alone gives \(Self.times(full).count)")
    }

    /// The replica falls behind (a bounded second a minute) and retention removes records it has
    /// not read: the cursor goes on after them and the snapshot written then (whose last record
    /// checks out) has a hole.
    @Test func theReplicaDoesNotWriteASnapshotWithAHole() throws {
        let fixture = Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let log = try MessageLog.open(fixture.options)
        defer { log.close() }
        try Self.append(log, 0..<5)
        var next = 5
        let restore = try WorkflowRestore.read(log, dataDirectory: fixture.directory) { _ in }
        let snapshotter = WorkflowSnapshotter(log: log, dataDirectory: fixture.directory, logger: Logger(label: "test"), restored: restore)
        // The broker runs on; the replica has not looked yet.
        try Self.append(log, 5..<100)
        next = 100
        try Self.pruneAllButTheActiveSegment(log, fixture, from: &next)
        try #require(log.firstOffset > 5)
        snapshotter.refresh(budget: .seconds(5), minimum: 1)

        let full = try WorkflowRecovery.read(log)
        let restarted = try WorkflowRestore.read(log, dataDirectory: fixture.directory) { _ in }
        let everything = (0..<Int64(next)).map { $0 }
        let got = Self.times(restarted.state)
        #expect(got == Self.times(full) || got == everything,
                "restored \(got.count) refusals from a snapshot through \(restarted.snapshotThrough.map { "\($0)" } ?? "none"): \(got.prefix(8))…")
    }
}
