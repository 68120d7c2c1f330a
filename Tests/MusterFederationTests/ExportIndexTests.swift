import MusterFederation
import Testing

/// The export index: a stream jumps to its lane's records and over everything else, and reads
/// the log wherever the index does not cover it.
@Suite("the export index")
struct ExportIndexTests {
    static let bulk = ExportIndex.Lane(peer: "pinghu", lane: .bulk)
    static let urgent = ExportIndex.Lane(peer: "pinghu", lane: .urgent)
    static let other = ExportIndex.Lane(peer: "jiashan", lane: .bulk)

    /// A log from offset 100: 100–104 for Pinghu (102 urgent), 105 stays home, 106 for Pinghu and
    /// Jiashan, 107 imported (for no one); noted through 108.
    static func index() -> ExportIndex {
        var index = ExportIndex(start: 100)
        for offset: UInt64 in [100, 101, 103, 104] { index.note(offset: offset, exportedTo: "pinghu", urgentFor: nil) }
        index.note(offset: 102, exportedTo: "pinghu", urgentFor: "pinghu")
        index.note(offset: 106, exportedTo: "jiashan,pinghu", urgentFor: "jiashan")
        index.cover(through: 108)
        return index
    }

    @Test func eachLaneReadsItsOwnRunsAndJumpsOverTheRest() {
        let index = Self.index()
        #expect(index.next(for: Self.bulk, from: 100) == .read(100...101))
        #expect(index.next(for: Self.bulk, from: 102) == .read(103...104))
        #expect(index.next(for: Self.bulk, from: 105) == .read(106...106))
        #expect(index.next(for: Self.bulk, from: 107) == .skip(to: 108), "nothing more for Pinghu among what is noted")
        #expect(index.next(for: Self.urgent, from: 100) == .read(102...102))
        #expect(index.next(for: Self.urgent, from: 103) == .skip(to: 108))
        #expect(index.next(for: ExportIndex.Lane(peer: "jiashan", lane: .urgent), from: 100) == .read(106...106))
        #expect(index.next(for: Self.other, from: 100) == .skip(to: 108))
    }

    @Test func aReadThatStartsInsideARunStartsThere() {
        #expect(Self.index().next(for: Self.bulk, from: 101) == .read(101...101))
    }

    @Test func belowTheStartAndPastWhatIsNotedTheLogIsRead() {
        let index = Self.index()
        #expect(index.next(for: Self.bulk, from: 99) == .scan, "stored before the index started")
        #expect(index.next(for: Self.bulk, from: 108) == .scan, "not noted yet: the stream reads the log's tail")
    }

    @Test func aRecordNotedButNotYetCoveredIsNotOfferedAheadOfTheRecordsBeforeIt() {
        var index = Self.index()
        index.note(offset: 110, exportedTo: "pinghu", urgentFor: nil)
        #expect(index.next(for: Self.bulk, from: 107) == .skip(to: 108), "109 may still be a record for Pinghu that is not noted")
        index.cover(through: 111)
        #expect(index.next(for: Self.bulk, from: 107) == .read(110...110))
    }

    @Test func anAcknowledgedRangeIsForgottenAndReadingBelowItReadsTheLog() {
        var index = Self.index()
        index.acknowledged(Self.bulk, through: 103)
        #expect(index.next(for: Self.bulk, from: 104) == .read(104...104))
        #expect(index.next(for: Self.bulk, from: 103) == .read(103...104), "a peer reconnecting reads from the record it took last")
        #expect(index.next(for: Self.bulk, from: 101) == .scan, "a peer reading again from below what it acknowledged reads the log")
        #expect(index.next(for: Self.urgent, from: 100) == .read(102...102), "each lane has its own coverage")
    }

    @Test func theStartUpScanKeepsAtMostTheRangeLimitToo() {
        var index = ExportIndex(start: 200, rangeLimit: 64)
        // Every other offset below 200 is Pinghu's: 100 ranges, of which the oldest go.
        for offset in stride(from: UInt64(0), to: 200, by: 2) { index.noteHistory(offset: offset, exportedTo: "pinghu", urgentFor: nil) }
        #expect(index.rangeCount(of: Self.bulk) <= 64)
        #expect(index.next(for: Self.bulk, from: 150) == .scan, "not covered before the scan is through")
        index.coverHistory(from: 0)
        index.cover(through: 200)
        #expect(index.next(for: Self.bulk, from: 0) == .scan, "what was forgotten is read from the log")
        #expect(index.next(for: Self.bulk, from: 197) == .read(198...198))
    }

    @Test func aLaneWithTooManyRangesForgetsTheOldestAndReadsTheLogThere() {
        var index = ExportIndex(start: 0, rangeLimit: 64)
        let runs: UInt64 = 65
        // Every other offset is Pinghu's: one range each.
        for run in 0..<runs { index.note(offset: run * 2, exportedTo: "pinghu", urgentFor: nil) }
        index.cover(through: runs * 2)
        #expect(index.rangeCount(of: Self.bulk) == 33, "the oldest 32 forgotten")
        #expect(index.next(for: Self.bulk, from: 62) == .scan, "offset 62 was in the 32nd range")
        #expect(index.next(for: Self.bulk, from: 63) == .read(64...64))
        #expect(index.next(for: Self.bulk, from: runs * 2 - 3) == .read((runs * 2 - 2)...(runs * 2 - 2)))
    }

    @Test func recordsStoredBeforeTheStartAreCoveredOnceTheStartUpScanIsThrough() {
        var index = ExportIndex(start: 10)
        index.note(offset: 11, exportedTo: "pinghu", urgentFor: nil)
        index.cover(through: 12)
        index.noteHistory(offset: 3, exportedTo: "pinghu", urgentFor: "pinghu")
        index.noteHistory(offset: 5, exportedTo: "pinghu", urgentFor: nil)
        #expect(index.next(for: Self.urgent, from: 0) == .scan, "not covered before the scan is through")
        index.coverHistory(from: 2)
        #expect(index.next(for: Self.urgent, from: 2) == .read(3...3))
        #expect(index.next(for: Self.urgent, from: 4) == .skip(to: 12))
        #expect(index.next(for: Self.bulk, from: 2) == .read(5...5))
        #expect(index.next(for: Self.bulk, from: 6) == .read(11...11))
        #expect(index.next(for: Self.bulk, from: 1) == .scan, "before the log's first offset")
    }

    @Test func theStartUpScanDoesNotNoteAgainWhatWasStoredSinceTheStart() {
        var index = ExportIndex(start: 10)
        index.noteHistory(offset: 10, exportedTo: "pinghu", urgentFor: nil)
        index.coverHistory(from: 0)
        index.cover(through: 11)
        #expect(index.next(for: Self.bulk, from: 0) == .skip(to: 11), "offset 10 is noted by its append, not by the scan")
    }
}
