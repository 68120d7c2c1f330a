import Testing
@testable import MusterNet

@Suite("event loop lifecycle", .timeLimit(.minutes(1)))
struct EventLoopLifecycleTests {
    @Test func stoppingTwiceReturnsAndTheLoopNoLongerRunsTasks() async throws {
        let group = try EventLoopGroup(count: 2)
        group.shutdown()
        group.shutdown()  // must return, not wait for a second "finished" signal
        for loop in group.loops { #expect(!loop.inLoop) }
    }

    @Test func stoppingALoopThatNeverStartedReturns() throws {
        let loop = try EventLoop(name: "never-started")
        loop.stop()
        loop.stop()
    }
}
