import Foundation
import Synchronization
import MusterTestSupport
import Testing
@testable import MusterLog

/// Retention deletes whole segments from the old end, when every destination in them has a
/// rule that lets them go, and records the pruned head so that the rest still verifies.
@Suite struct RetentionTests {
    static let noiseRule = RetentionRule(destination: "/topic/noise.*", maxAgeMilliseconds: 1000)

    private struct Fixture {
        let directory: LogTestDirectory
        let clock: ManualClock
        let options: LogOptions
        let notices: Notices
    }

    /// What the log reported through `LogOptions.notice`.
    private final class Notices: Sendable {
        let lines = Mutex<[String]>([])
    }

    private func fixture(rules: [RetentionRule] = [noiseRule]) throws -> (Fixture, MessageLog) {
        let directory = try LogTestDirectory()
        let clock = ManualClock(1_000_000)
        var options = LogOptions(dataDirectory: directory.path, segmentBytes: 4096, clock: clock, retention: rules)
        let notices = Notices()
        options.notice = { text in notices.lines.withLock { $0.append(text) } }
        let fixture = Fixture(directory: directory, clock: clock, options: options, notices: notices)
        return (fixture, try MessageLog.open(options))
    }

    private func segments(_ log: MessageLog) -> [SegmentIndex] { log.catalog.withLock { $0.segments } }

    private func prunedHeadFile(_ options: LogOptions) -> String { options.logDirectory + "/pruned-head" }

    /// Appends until the writer starts a new segment (which is when retention runs).
    private func appendUntilRoll(_ log: MessageLog, destination: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let active = segments(log).last!.baseOffset
        var appended = 0
        while segments(log).last!.baseOffset == active {
            let next = Int(log.nextOffset)
            _ = try appendAll(log, count: 1, first: next) { _ in destination }
            appended += 1
            try #require(appended < 200, "the log never rolled", sourceLocation: sourceLocation)
        }
    }

    @Test func expiredSegmentsArePrunedOnRollAndTheRestStillVerifies() throws {
        let (fixture, log) = try fixture()
        defer { withExtendedLifetime(fixture) {} }
        let options = fixture.options
        _ = try appendAll(log, count: 100) { "/topic/noise.\($0 % 3)" }
        let before = segments(log)
        try #require(before.count >= 4)
        let lagging = log.cursor(from: 0)
        #expect(try lagging.next(maxRecords: 3).map(\.offset) == [0, 1, 2])
        let earlyHead = LogHead(offset: 2, chain: try #require(readAll(log.cursor(from: 2)).first).chain)
        let lateHead = try #require(log.head)
        let savedSegments = try segmentFiles(options.dataDirectory)

        // Old enough now, but nothing happens until the next roll.
        fixture.clock.advance(by: 5_000)
        _ = try appendAll(log, count: 1, first: 100) { _ in "/topic/noise.0" }
        #expect(segments(log).count == before.count)
        #expect(!FileManager.default.fileExists(atPath: prunedHeadFile(options)))

        try appendUntilRoll(log, destination: "/topic/noise.0")
        // Every segment holding only old records went; the one that was active (it holds a new record) stays.
        let kept = before.last!
        let lastPruned = before[before.count - 2]
        let pruned = LogHead(offset: lastPruned.endOffset - 1, chain: lastPruned.lastChain)
        #expect(segments(log).first?.baseOffset == kept.baseOffset)
        #expect(log.firstOffset == kept.baseOffset)
        for segment in before.dropLast() {
            #expect(!FileManager.default.fileExists(atPath: segment.path), "\(segment.fileName) should be deleted")
        }
        #expect(try String(contentsOfFile: prunedHeadFile(options), encoding: .utf8) == "\(pruned)\n")
        #expect(fixture.notices.lines.withLock { $0.filter { $0.contains("retention deleted segment") }.count } == before.count - 1)

        // A cursor that was reading the pruned range goes on from the first remaining offset.
        #expect(try lagging.next(maxRecords: 2).map(\.offset) == [kept.baseOffset, kept.baseOffset + 1])
        #expect(try log.cursor(from: 0).next(maxRecords: 1).first?.offset == kept.baseOffset)
        let nextOffset = log.nextOffset
        log.close()

        // The remaining chain verifies from the anchor.
        let archive = LogArchive(dataDirectory: options.dataDirectory)
        let verification = try archive.verify()
        #expect(verification.prunedHead == pruned)
        #expect(verification.firstOffset == kept.baseOffset)
        #expect(verification.records == Int(nextOffset - kept.baseOffset))
        #expect(try archive.verify(expectHead: pruned).records == verification.records)
        #expect(try archive.verify(expectHead: lateHead).records == verification.records)
        do {
            _ = try archive.verify(expectHead: earlyHead)
            Issue.record("a head inside the pruned range cannot be checked, and verify must say so")
        } catch {
            #expect(error.description.contains("was pruned by retention"))
        }

        // Reopening works, reports the anchor and appends on.
        let reopened = try MessageLog.open(options)
        #expect(reopened.recovery.prunedHead == pruned)
        #expect(reopened.firstOffset == kept.baseOffset)
        #expect(try appendAll(reopened, count: 1, first: Int(nextOffset)) { _ in "/topic/noise.1" }.first?.offset == nextOffset)
        #expect(try readAll(reopened.cursor(from: 0)).map(\.offset) == Array(kept.baseOffset...nextOffset))
        reopened.close()

        // A crash between writing pruned-head and deleting the segments leaves them behind: the next open removes them.
        for segment in savedSegments where segment.baseOffset < kept.baseOffset { try segment.save() }
        #expect(try archive.verify().firstOffset == kept.baseOffset)
        let recovered = try MessageLog.open(options)
        #expect(recovered.firstOffset == kept.baseOffset)
        recovered.close()
        #expect(try segmentFiles(options.dataDirectory).first?.baseOffset == kept.baseOffset)
    }

    @Test func segmentsAreKeptUntilTheirNewestRecordIsOlderThanTheMaximumAge() throws {
        let (fixture, log) = try fixture()
        defer { withExtendedLifetime(fixture) {} }
        defer { log.close() }
        _ = try appendAll(log, count: 100) { "/topic/noise.\($0 % 3)" }
        let before = segments(log)
        fixture.clock.advance(by: 1_000)  // exactly the maximum age: not older than it
        try appendUntilRoll(log, destination: "/topic/noise.0")
        #expect(segments(log).first?.baseOffset == 0)
        #expect(!FileManager.default.fileExists(atPath: prunedHeadFile(fixture.options)))

        fixture.clock.advance(by: 1)
        try appendUntilRoll(log, destination: "/topic/noise.0")
        #expect(segments(log).first?.baseOffset == before.last!.baseOffset)
        #expect(FileManager.default.fileExists(atPath: prunedHeadFile(fixture.options)))
    }

    @Test func aDestinationWithoutAnExpiringRuleKeepsItsSegmentAndEveryLaterOne() throws {
        let rules = [Self.noiseRule, RetentionRule(destination: "/topic/slow.*", maxAgeMilliseconds: 3_600_000)]
        let (fixture, log) = try fixture(rules: rules)
        defer { withExtendedLifetime(fixture) {} }
        defer { log.close() }
        // One order (no rule at all) in the second segment, one slow record (a rule, not yet due) in the fourth.
        let placed = try appendAll(log, count: 150) { index in
            switch index {
            case 45: "/queue/orders"
            case 100: "/topic/slow.grid"
            default: "/topic/noise.\(index % 2)"
            }
        }
        #expect(placed.count == 150)
        let before = segments(log)
        let holdingOrder = try #require(before.firstIndex { $0.baseOffset <= 45 && 45 < $0.endOffset })
        let holdingSlow = try #require(before.firstIndex { $0.baseOffset <= 100 && 100 < $0.endOffset })
        #expect(holdingOrder == 1)
        #expect(holdingSlow > holdingOrder + 1 && holdingSlow < before.count - 1)

        fixture.clock.advance(by: 60_000)
        try appendUntilRoll(log, destination: "/topic/noise.0")
        #expect(segments(log).first?.baseOffset == before[holdingOrder].baseOffset)
        #expect(log.firstOffset == before[holdingOrder].baseOffset)
        let pruned = LogHead(offset: before[0].endOffset - 1, chain: before[0].lastChain)
        #expect(try String(contentsOfFile: prunedHeadFile(fixture.options), encoding: .utf8) == "\(pruned)\n")
        let remaining = try readAll(log.cursor(from: 0))
        #expect(remaining.first?.offset == before[holdingOrder].baseOffset)
        #expect(remaining.contains { $0.offset == 45 && $0.destination == "/queue/orders" })
        #expect(try LogArchive(dataDirectory: fixture.options.dataDirectory).verify().prunedHead == pruned)
    }

    @Test func aByteLimitPrunesTheOldestSegmentsUntilTheDestinationFits() throws {
        let limit = 10_000
        let (fixture, log) = try fixture(rules: [RetentionRule(destination: "/topic/bulk", maxBytes: limit)])
        defer { withExtendedLifetime(fixture) {} }
        defer { log.close() }
        _ = try appendAll(log, count: 150) { _ in "/topic/bulk" }
        let before = segments(log)
        try appendUntilRoll(log, destination: "/topic/bulk")
        let after = segments(log)
        let first = try #require(after.first)
        #expect(first.baseOffset > 0)
        let total = log.catalog.withLock { $0.totalBytesByDestination["/topic/bulk"] ?? 0 }
        #expect(total == after.reduce(0) { $0 + ($1.destinationBytes["/topic/bulk"] ?? 0) })
        #expect(total <= limit)
        // One segment fewer deleted would have stayed over the limit.
        let lastDeleted = try #require(before.last { $0.baseOffset < first.baseOffset })
        #expect(total + (lastDeleted.destinationBytes["/topic/bulk"] ?? 0) > limit)
        #expect(try LogArchive(dataDirectory: fixture.options.dataDirectory).verify().firstOffset == first.baseOffset)
    }

    @Test func ruleMatchingByExactNamePrefixOrEverything() {
        #expect(RetentionRule(destination: "/topic/noise.*").matches("/topic/noise.a"))
        #expect(RetentionRule(destination: "/topic/noise.*").matches("/topic/noise."))
        #expect(!RetentionRule(destination: "/topic/noise.*").matches("/topic/noise"))
        #expect(RetentionRule(destination: "/queue/a").matches("/queue/a"))
        #expect(!RetentionRule(destination: "/queue/a").matches("/queue/ab"))
        #expect(RetentionRule(destination: "*").matches("/anything"))
        // The first matching rule decides.
        let rules = [RetentionRule(destination: "/topic/keep", maxAgeMilliseconds: nil), Self.noiseRule,
                     RetentionRule(destination: "*", maxAgeMilliseconds: 5)]
        #expect(RetentionRule.rule(for: "/topic/keep", in: rules)?.maxAgeMilliseconds == nil)
        #expect(RetentionRule.rule(for: "/topic/noise.x", in: rules) == Self.noiseRule)
        #expect(RetentionRule.rule(for: "/queue/z", in: rules)?.maxAgeMilliseconds == 5)
    }
}
