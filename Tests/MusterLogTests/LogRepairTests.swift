import Foundation
import Testing
@testable import MusterLog

/// `LogRepair` (`muster log repair`): an explicit cut of the log at its first damaged record,
/// which keeps the bytes it removes in quarantine files, records itself in `DATA/repairs`, and
/// refuses any other cut unless forced.
@Suite struct LogRepairTests {
    static let now: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

    private func repair(_ options: LogOptions) -> LogRepair {
        var repair = LogRepair(dataDirectory: options.dataDirectory)
        repair.clock = { Self.now }
        return repair
    }

    /// A closed log of 60 records whose final record (offset 59) has a flipped body byte;
    /// `zerosAfter` preallocated zeros follow it. Returns the damaged segment's bytes.
    private func logWithDamagedFinalRecord(zerosAfter: Int = 0) throws -> (LogTestDirectory, LogOptions, SegmentFile, RecordLocation) {
        let (directory, options) = try makeClosedLog(count: 60)
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        let final = try #require(last.records.last)
        #expect(final.offset == 59)
        last.bytes[final.end - 2] ^= 0x20
        last.bytes += [UInt8](repeating: 0, count: zerosAfter)
        try last.save()
        return (directory, options, last, final)
    }

    private func repairsFile(_ options: LogOptions) -> String { options.dataDirectory + "/" + LogRepair.recordFile }

    private func expectRefused(_ what: String, containing fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                               _ operation: () throws -> Void) {
        do {
            try operation()
            Issue.record("\(what) was not refused", sourceLocation: sourceLocation)
        } catch let refusal as LogRepairRefusal {
            for fragment in fragments {
                #expect(refusal.description.contains(fragment), "\(refusal)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("\(what) failed, but was not refused: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func refusalToOpenSaysHowToCutTheLogThere() throws {
        let (directory, options, _, _) = try logWithDamagedFinalRecord()
        defer { withExtendedLifetime(directory) {} }
        let refused = try #require(expectCorruption("MessageLog.open") { () throws(LogError) in
            let log = try MessageLog.open(options)
            log.close()
        })
        #expect(refused.offset == 59)
        #expect(refused.reason.contains("CRC mismatch"), "\(refused.reason)")
        #expect(refused.description.contains("muster log repair --data \(options.dataDirectory) --truncate-from 59"), "\(refused.description)")
        #expect(refused.description.contains("quarantine"), "\(refused.description)")
    }

    @Test(arguments: [0, 4096])
    func cutsTheDamagedFinalRecordKeepingItsBytesAndRecordingTheRepair(zerosAfter: Int) throws {
        let (directory, options, segment, final) = try logWithDamagedFinalRecord(zerosAfter: zerosAfter)
        defer { withExtendedLifetime(directory) {} }
        let damage = try #require(try repair(options).findDamage())
        #expect(damage.offset == 59)
        #expect(damage.segment == segment.name)
        #expect(damage.position == final.position)

        let outcome = try repair(options).truncate(from: 59)
        #expect(outcome.offset == 59)
        #expect(outcome.segment == segment.name)
        #expect(outcome.position == final.position)
        #expect(!outcome.forced)
        #expect(outcome.damage?.offset == 59)
        #expect(outcome.removedBytes == segment.bytes.count - final.position)
        #expect(outcome.records == 59)
        #expect(outcome.head?.offset == 58)

        // The evidence: every byte cut, in a file next to the segment.
        let quarantine = try #require(outcome.quarantine.first)
        #expect(outcome.quarantine.count == 1)
        #expect(quarantine == options.logDirectory + "/" + segment.name + ".quarantine-59-20260101T000000Z")
        #expect(try readFile(quarantine) == Array(segment.bytes[final.position...]))
        #expect(try readFile(segment.path) == Array(segment.bytes[..<final.position]))

        // The record of the repair.
        let record = try String(contentsOfFile: repairsFile(options), encoding: .utf8)
        #expect(record == outcome.entry + "\n")
        for fragment in ["2026-01-01T00:00:00.000Z", "cut the log from offset 59", "segment \(segment.name), byte \(final.position)",
                         "damaged: CRC mismatch", "log/\(segment.name).quarantine-59-20260101T000000Z", "head 58:"] {
            #expect(record.contains(fragment), "\(record)")
        }

        // The log verifies and opens, and goes on from offset 59.
        let verification = try LogArchive(dataDirectory: options.dataDirectory).verify()
        #expect(verification.records == 59)
        #expect(verification.tornTail == nil)
        let log = try MessageLog.open(options)
        #expect(log.recovery.truncated == nil)
        #expect(log.nextOffset == 59)
        let appended = try appendAll(log, count: 2, first: 59) { _ in "/topic/after.repair" }
        #expect(appended.map(\.offset) == [59, 60])
        #expect(try readAll(log.cursor(from: 0)).map(\.offset) == Array(0..<61))
        log.close()
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().records == 61)
    }

    @Test func refusesToCutAnywhereButAtTheDamageUnlessForced() throws {
        let (directory, options, segment, final) = try logWithDamagedFinalRecord()
        defer { withExtendedLifetime(directory) {} }
        let before = try snapshot(options.dataDirectory)
        expectRefused("a cut before the damage", containing: ["offset 58 checks out", "the first damaged record is offset 59", "--force"]) {
            _ = try repair(options).truncate(from: 58)
        }
        expectRefused("a cut after the damage", containing: ["damaged before offset 60", "Cut from offset 59"]) {
            _ = try repair(options).truncate(from: 60, force: true)
        }
        #expect(try snapshot(options.dataDirectory) == before)
        #expect(!FileManager.default.fileExists(atPath: repairsFile(options)))

        // Forced, it gives up the record before the damage as well.
        let previous = try #require(segment.records.dropLast().last)
        #expect(previous.offset == 58)
        let outcome = try repair(options).truncate(from: 58, force: true, note: "ticket 7")
        #expect(outcome.forced)
        #expect(outcome.damage?.offset == 59)
        #expect(try readFile(try #require(outcome.quarantine.first)) == Array(segment.bytes[previous.position...]))
        #expect(outcome.entry.contains("forced; the first damage was at offset 59"), "\(outcome.entry)")
        #expect(outcome.entry.hasSuffix("; note: ticket 7"), "\(outcome.entry)")
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().records == 58)
        #expect(final.position > previous.position)
    }

    @Test func refusesToCutALogThatVerifiesUnlessForced() throws {
        let (directory, options) = try makeClosedLog(count: 60)
        defer { withExtendedLifetime(directory) {} }
        let segments = try segmentFiles(options.dataDirectory)
        try #require(segments.count >= 3)
        let before = try snapshot(options.dataDirectory)
        #expect(try repair(options).findDamage() == nil)
        expectRefused("a cut of a log that verifies", containing: ["the log verifies (60 records", "nothing was cut", "--force"]) {
            _ = try repair(options).truncate(from: 30)
        }
        expectRefused("a cut past the end", containing: ["no record at offset 60", "offsets 0 to 59"]) {
            _ = try repair(options).truncate(from: 60, force: true)
        }
        #expect(try snapshot(options.dataDirectory) == before)

        // Forced: the segment holding offset 30 is cut there, and the later ones are set aside whole.
        let holding = try #require(segments.firstIndex { file in file.records.contains { $0.offset == 30 } })
        try #require(holding < segments.count - 1)
        let record = try #require(segments[holding].records.first { $0.offset == 30 })
        let outcome = try repair(options).truncate(from: 30, force: true)
        #expect(outcome.damage == nil)
        #expect(outcome.forced)
        #expect(outcome.segment == segments[holding].name)
        #expect(outcome.quarantine.count == segments.count - holding)
        #expect(try readFile(outcome.quarantine[0]) == Array(segments[holding].bytes[record.position...]))
        for later in segments[(holding + 1)...] {
            let kept = try #require(outcome.quarantine.first { $0.hasSuffix("/" + later.name + ".quarantine-30-20260101T000000Z") })
            #expect(try readFile(kept) == later.bytes)
            #expect(!FileManager.default.fileExists(atPath: later.path))
        }
        #expect(outcome.removedBytes == segments[holding].bytes.count - record.position + segments[(holding + 1)...].reduce(0) { $0 + $1.bytes.count })
        #expect(outcome.entry.contains("forced; the log verified"), "\(outcome.entry)")
        let verification = try LogArchive(dataDirectory: options.dataDirectory).verify()
        #expect(verification.records == 30)
        #expect(verification.segments == holding + 1)
        let log = try MessageLog.open(options)
        #expect(try appendAll(log, count: 1, first: 30) { _ in "/topic/after.repair" }.map(\.offset) == [30])
        log.close()
    }

    @Test func cutsDamageInAnEarlierSegmentSettingTheLaterSegmentsAside() throws {
        let (directory, options) = try makeClosedLog(count: 100)
        defer { withExtendedLifetime(directory) {} }
        let segments = try segmentFiles(options.dataDirectory)
        try #require(segments.count >= 4)
        var damaged = segments[1]
        let victim = damaged.records[damaged.records.count / 2]
        damaged.bytes[victim.end - 3] ^= 0x01
        try damaged.save()
        try expectDamage(options, segment: damaged.name, position: victim.position, offset: victim.offset, reason: "CRC mismatch")

        let outcome = try repair(options).truncate(from: victim.offset)
        #expect(!outcome.forced)
        #expect(outcome.quarantine.count == segments.count - 1)
        #expect(try readFile(outcome.quarantine[0]) == Array(damaged.bytes[victim.position...]))
        #expect(outcome.records == Int(victim.offset))
        let verification = try LogArchive(dataDirectory: options.dataDirectory).verify()
        #expect(verification.records == Int(victim.offset))
        #expect(verification.segments == 2)
        let log = try MessageLog.open(options)
        #expect(log.nextOffset == victim.offset)
        log.close()
    }

    @Test func refusesToCutAtADamagedSegmentHeader() throws {
        let (directory, options) = try makeClosedLog(count: 60)
        defer { withExtendedLifetime(directory) {} }
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        last.bytes[40] ^= 0x80
        try last.save()
        let before = try snapshot(options.dataDirectory)
        let damage = try #require(try repair(options).findDamage())
        #expect(!damage.isRecord)
        expectRefused("a cut at a segment header", containing: ["outside any record", "restore the segment from a backup"]) {
            _ = try repair(options).truncate(from: last.baseOffset)
        }
        expectRefused("a forced cut at a segment header", containing: ["no record at offset \(last.baseOffset)"]) {
            _ = try repair(options).truncate(from: last.baseOffset, force: true)
        }
        #expect(try snapshot(options.dataDirectory) == before)
        // Forced, it may give up everything from an earlier record on: the damaged segment goes whole.
        let outcome = try repair(options).truncate(from: last.baseOffset - 1, force: true)
        #expect(outcome.quarantine.contains { $0.hasSuffix("/" + last.name + ".quarantine-\(last.baseOffset - 1)-20260101T000000Z") })
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().records == Int(last.baseOffset) - 1)
    }

    @Test func leavesATornTailToRecovery() throws {
        let (directory, options) = try makeClosedLog(count: 60)
        defer { withExtendedLifetime(directory) {} }
        var last = try #require(try segmentFiles(options.dataDirectory).last)
        let final = try #require(last.records.last)
        last.bytes.removeSubrange((final.position + 30)...)
        try last.save()
        let before = try snapshot(options.dataDirectory)
        #expect(try repair(options).findDamage() == nil)
        expectRefused("a cut of a torn tail", containing: ["the log verifies (59 records", "the broker cuts off when it starts"]) {
            _ = try repair(options).truncate(from: 59)
        }
        #expect(try snapshot(options.dataDirectory) == before)
    }

    @Test func aSecondRepairAtTheSameOffsetKeepsTheFirstOnesEvidence() throws {
        let (directory, options, segment, final) = try logWithDamagedFinalRecord()
        defer { withExtendedLifetime(directory) {} }
        let first = try repair(options).truncate(from: 59)
        // The same record is written again, and damaged again.
        let log = try MessageLog.open(options)
        _ = try appendAll(log, count: 1, first: 59) { _ in "/topic/jinshan.summons.2" }
        log.close()
        var again = try SegmentFile(path: segment.path)
        let rewritten = try #require(again.records.last)
        #expect(rewritten.position == final.position)
        again.bytes[rewritten.end - 1] ^= 0x01
        try again.save()
        let second = try repair(options).truncate(from: 59)
        #expect(second.quarantine.first == (first.quarantine.first.map { $0 + "-2" }))
        #expect(try readFile(try #require(first.quarantine.first)) == Array(segment.bytes[final.position...]))
        #expect(try readFile(try #require(second.quarantine.first)) == Array(again.bytes[final.position...]))
        let lines = try String(contentsOfFile: repairsFile(options), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
    }
}
