import Logging
import MusterTestSupport
@testable import MusterServer
import Synchronization
import Testing

@Suite("returning freed memory once the broker is quiet")
struct HeapReturnTests {
    typealias Activity = HeapReturn.Activity

    /// The decisions for one check per period, in order.
    func decisions(_ activities: [Activity]) -> [Bool] {
        var decision = HeapReturn()
        return activities.map { decision.check($0) }
    }

    @Test func returnsOnceAfterAQuietPeriodThatFollowsActivity() {
        let startup = Activity(logEnd: 10, connectionEvents: 0)
        let connected = Activity(logEnd: 10, connectionEvents: 2)
        let published = Activity(logEnd: 11, connectionEvents: 2)
        // The first look has nothing to compare with; a quiet period after startup (recovery read
        // the log) returns memory, a longer quiet spell not again; connections opened or closed and
        // appends are activity, each followed by one return once quiet.
        #expect(decisions([startup, startup, startup, startup, connected, connected, connected, published, published])
            == [false, true, false, false, false, true, false, false, true])
    }

    @Test func cachesGoOnlyWhenTheBrokerIsQuiet() {
        var decision = HeapReturn()
        _ = decision.check(Activity(logEnd: 1, connectionEvents: 0))
        // Busy, holding more freed memory than the threshold: returned, but the caches stay.
        let busy = decision.check(Activity(logEnd: 2, connectionEvents: 0), heldFreeBytes: HeapReturn.busyThreshold + 1)
        #expect(busy && !decision.returnsWhileQuiet)
        let quiet = decision.check(Activity(logEnd: 2, connectionEvents: 0))
        #expect(quiet && decision.returnsWhileQuiet)
    }

    @Test func theReturnerReleasesCachesOnlyOnceQuiet() async throws {
        let current = Mutex(Activity(logEnd: 0, connectionEvents: 0))
        let released = Mutex(0)
        let returner = HeapReturner(period: .milliseconds(20), logger: Logger(label: "test"), releaseCaches: { released.withLock { $0 += 1 } }) {
            current.withLock { $0 }
        }
        returner.start()
        defer { returner.stop() }
        try await eventually("the quiet period after startup to release the caches") { released.withLock { $0 } >= 1 }
    }

    @Test func neverReturnsWhileTheBrokerWorks() {
        let busy = (0..<50).map { Activity(logEnd: UInt64($0), connectionEvents: $0 / 3) }
        #expect(!decisions(busy).contains(true))
    }

    @Test func theReturnerTrimsOnItsTimerAfterEachQuietSpell() async throws {
        let current = Mutex(Activity(logEnd: 0, connectionEvents: 0))
        let returner = HeapReturner(period: .milliseconds(20), logger: Logger(label: "test")) { current.withLock { $0 } }
        returner.start()
        defer { returner.stop() }
        // Counted with >, not ==: the test process's own heap (hundreds of tests beside this one)
        // can also trigger the busy-time return, which counts too.
        try await eventually("the quiet period after startup to return memory") { returner.returnCount >= 1 }
        let returned = returner.returnCount
        current.withLock { $0.logEnd = 5 }
        try await eventually("a quiet period after new appends to return memory again") { returner.returnCount > returned }
    }
}
