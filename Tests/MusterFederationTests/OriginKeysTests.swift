import MusterFederation
import Testing

/// Copies of a record arriving by two routes: the first claim stores it, a copy arriving meanwhile
/// waits, later copies are dropped, and a failed store (or a refusal) lets the next copy in.
@Suite("origin keys across routes")
struct OriginKeysTests {
    static func key(_ offset: UInt64, _ log: String = "a1") -> OriginKeys.Key { OriginKeys.Key(logID: log, offset: offset) }

    @Test func theFirstCopyIsClaimedAndLaterCopiesAreDropped() {
        var keys = OriginKeys()
        let first = keys.claim(Self.key(7)), whileStoring = keys.claim(Self.key(7))
        #expect(first == .claimed && whileStoring == .pending, "a copy arriving while the first is being stored waits")
        keys.stored(Self.key(7))
        let afterStored = keys.claim(Self.key(7)), otherLog = keys.claim(Self.key(7, "b2"))
        #expect(afterStored == .stored, "a copy arriving after it was stored")
        #expect(otherLog == .claimed, "the same offset of another origin's log is another record")
    }

    @Test func aFailedStoreReleasesTheKeyForTheNextCopy() {
        var keys = OriginKeys()
        let claimed = keys.claim(Self.key(3)), waiting = keys.claim(Self.key(3))
        keys.released(Self.key(3))
        let again = keys.claim(Self.key(3))
        #expect(claimed == .claimed && waiting == .pending && again == .claimed, "the next copy is claimed once the first failed to be stored")
    }

    @Test func runsOfOffsetsAreKeptAsRangesWhateverTheOrderTheyArrive() {
        var keys = OriginKeys()
        for offset: UInt64 in [5, 3, 4, 10, 12, 11, 1, 0, 2, 6, 20] { keys.stored(Self.key(offset)) }
        #expect(keys.rangeCount == 3, "0...6, 10...12 and 20")
        for offset: UInt64 in [0, 3, 6, 10, 11, 12, 20] { #expect(keys.contains(Self.key(offset)), "\(offset)") }
        for offset: UInt64 in [7, 9, 13, 19, 21, UInt64.max] { #expect(!keys.contains(Self.key(offset)), "\(offset)") }
        keys.stored(Self.key(4))
        #expect(keys.rangeCount == 3, "storing a key twice changes nothing")
        for offset: UInt64 in 7...9 { keys.stored(Self.key(offset)) }
        #expect(keys.rangeCount == 2, "filling the hole joins 0...12")
    }
}
