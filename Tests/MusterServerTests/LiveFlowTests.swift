import Testing
@testable import MusterServer

@Suite("live delivery and lagging subscribers")
struct LiveFlowTests {
    @Test func pushesWhileTheConnectionKeepsUpThenFollowsFromTheFirstUnsentOffset() {
        var flow = LiveFlow()
        #expect(flow.decide(subscriptionID: "grid", offset: 10, backlog: 1000) == .write)
        #expect(flow.decide(subscriptionID: "grid", offset: 11, backlog: LiveFlow.highWater + 1) == .follow(11))
        #expect(flow.decide(subscriptionID: "grid", offset: 12, backlog: 0) == .drop, "the follower reads it from the log")
        #expect(flow.decide(subscriptionID: "other", offset: 12, backlog: 0) == .write, "other subscriptions are unaffected")
    }

    @Test func afterRejoiningOffsetsTheFollowerSentAreNotPushedAgain() {
        var flow = LiveFlow()
        _ = flow.decide(subscriptionID: "grid", offset: 5, backlog: LiveFlow.highWater + 1)
        flow.rejoin(subscriptionID: "grid", at: 9)
        #expect(flow.decide(subscriptionID: "grid", offset: 8, backlog: 0) == .drop)
        #expect(flow.decide(subscriptionID: "grid", offset: 9, backlog: 0) == .write)
        #expect(flow.decide(subscriptionID: "grid", offset: 10, backlog: 0) == .write)
    }

    @Test func forgettingASubscriptionClearsItsState() {
        var flow = LiveFlow()
        _ = flow.decide(subscriptionID: "grid", offset: 5, backlog: LiveFlow.highWater + 1)
        flow.forget("grid")
        #expect(flow.lagging.isEmpty)
        #expect(flow.decide(subscriptionID: "grid", offset: 6, backlog: 0) == .write)
    }
}
