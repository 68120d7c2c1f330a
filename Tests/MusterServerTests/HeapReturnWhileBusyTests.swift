@testable import MusterServer
import Testing

/// A broker that never goes quiet still gives back what a storm freed.
@Suite("returning freed memory while the broker works")
struct HeapReturnWhileBusyTests {
    typealias Activity = HeapReturn.Activity
    static let threshold = HeapReturn.busyThreshold

    /// The decisions for (log end, freed bytes held) looked at once per period.
    private func decisions(_ looks: [(logEnd: UInt64, held: Int)], returnedLeaving held: Int = 0) -> [Bool] {
        var decision = HeapReturn()
        return looks.map { look in
            let now = decision.check(Activity(logEnd: look.logEnd, connectionEvents: 0), heldFreeBytes: look.held)
            if now { decision.returned(heldFreeBytesAfter: held) }
            return now
        }
    }

    @Test func aBusyBrokerReturnsOnceTheAllocatorHoldsMuchFreedMemory() {
        // Publishing on, little freed: nothing returned; then 10,000 connections closed: the
        // allocator holds 175 MiB freed, and the broker is still busy.
        #expect(decisions([(0, 4 << 20), (100, 4 << 20), (200, 4 << 20), (300, 175 << 20)]) == [false, false, false, true])
    }

    @Test func whatTrimmingCouldNotGiveBackIsNotTrimmedAgainAndAgain() {
        // Fragmented: 40 MiB stays held after each return.
        let fragmented = 40 << 20
        #expect(decisions([(1, Self.threshold + 1), (2, fragmented + Self.threshold - 1), (3, fragmented + Self.threshold)],
                          returnedLeaving: fragmented) == [true, false, true])
    }

    @Test func theQuietReturnStillFollowsABusyOne() {
        #expect(decisions([(1, Self.threshold), (1, 1 << 20), (1, 1 << 20)]) == [true, true, false])
    }
}
