import Testing
@testable import MusterBroker
import MusterProtocol

/// One connection's subscriptions: ids, replay serials and ack ids, and live topic flow.
@Suite("Session subscriptions")
struct SessionSubscriptionsTests {
    // MARK: Ids

    @Test func anIdInUseIsRefusedWhateverServesIt() throws {
        var subscriptions = SessionSubscriptions()
        try subscriptions.addRouted("grid")
        _ = try subscriptions.addReplay("audit")
        for id in ["grid", "audit"] {
            #expect(throws: BrokerError.self) { try subscriptions.checkFree(id) }
            #expect(throws: BrokerError.self) { try subscriptions.addRouted(id) }
            #expect(throws: BrokerError.self) { _ = try subscriptions.addReplay(id) }
        }
        do {
            try subscriptions.addRouted("grid")
            Issue.record("a second subscription 'grid' was accepted")
        } catch {
            #expect(error.code == .duplicateSubscription)
            #expect(error.message.contains("'grid'"))
        }
        #expect(subscriptions.ids == ["grid", "audit"])
    }

    @Test func aRemovedIdIsFreeAgainAndSaysWhatServedIt() throws {
        var subscriptions = SessionSubscriptions()
        try subscriptions.addRouted("grid")
        let serial = try subscriptions.addReplay("audit")
        #expect(subscriptions.remove("grid") == .routed)
        #expect(subscriptions.remove("audit") == .replay(serial: serial))
        #expect(subscriptions.remove("audit") == nil)
        try subscriptions.checkFree("grid")
        try subscriptions.addRouted("audit")
        #expect(subscriptions.serving("audit") == .routed)
    }

    @Test func replaysAndQueriesTakeDistinctSerialsThatNeverRepeat() throws {
        var subscriptions = SessionSubscriptions()
        let first = try subscriptions.addReplay("a")
        let query = subscriptions.takeSerial()
        subscriptions.remove("a")
        let second = try subscriptions.addReplay("a")
        #expect(Set([first, query, second]).count == 3)
        #expect(subscriptions.serving("a") == .replay(serial: second))
    }

    @Test func anAckIdFindsTheReplayThatIssuedIt() throws {
        var subscriptions = SessionSubscriptions()
        _ = try subscriptions.addReplay("first")
        let serial = try subscriptions.addReplay("second")
        #expect(try subscriptions.replay(owningAck: ReplayState.ackID(serial: serial, offset: 42)) == "second")
        #expect(try subscriptions.replay(owningAck: "17") == nil, "a broker ack id is not a replay's")
        #expect(throws: BrokerError.self) { try subscriptions.replay(owningAck: ReplayState.ackID(serial: serial + 5, offset: 1)) }
        subscriptions.remove("second")
        #expect(throws: BrokerError.self) { try subscriptions.replay(owningAck: ReplayState.ackID(serial: serial, offset: 42)) }
    }

    @Test func closingForgetsEverything() throws {
        var subscriptions = SessionSubscriptions()
        try subscriptions.addRouted("grid")
        _ = subscriptions.decide(subscriptionID: "grid", offset: 5, backlog: SessionSubscriptions.laggingHighWater + 1)
        subscriptions.removeAll()
        #expect(subscriptions.ids.isEmpty)
        #expect(subscriptions.lagging.isEmpty)
    }

    // MARK: Live topic flow

    @Test func pushesWhileTheConnectionKeepsUpThenFollowsFromTheFirstUnsentOffset() {
        var flow = SessionSubscriptions()
        #expect(flow.decide(subscriptionID: "grid", offset: 10, backlog: 1000) == .write)
        #expect(flow.decide(subscriptionID: "grid", offset: 11, backlog: SessionSubscriptions.laggingHighWater + 1) == .follow(11))
        #expect(flow.decide(subscriptionID: "grid", offset: 12, backlog: 0) == .drop, "the follower reads it from the log")
        #expect(flow.decide(subscriptionID: "other", offset: 12, backlog: 0) == .write, "other subscriptions are unaffected")
        #expect(flow.lagging == ["grid": 11])
    }

    @Test func afterRejoiningOffsetsTheFollowerSentAreNotPushedAgain() {
        var flow = SessionSubscriptions()
        _ = flow.decide(subscriptionID: "grid", offset: 5, backlog: SessionSubscriptions.laggingHighWater + 1)
        flow.rejoin(subscriptionID: "grid", at: 9)
        #expect(flow.lagging.isEmpty)
        #expect(flow.decide(subscriptionID: "grid", offset: 8, backlog: 0) == .drop)
        #expect(flow.decide(subscriptionID: "grid", offset: 9, backlog: 0) == .write)
        #expect(flow.decide(subscriptionID: "grid", offset: 10, backlog: 0) == .write)
    }

    @Test func removingASubscriptionClearsItsFlow() throws {
        var flow = SessionSubscriptions()
        try flow.addRouted("grid")
        _ = flow.decide(subscriptionID: "grid", offset: 5, backlog: SessionSubscriptions.laggingHighWater + 1)
        flow.remove("grid")
        #expect(flow.lagging.isEmpty)
        #expect(flow.decide(subscriptionID: "grid", offset: 6, backlog: 0) == .write)
        try flow.addRouted("rejoined")
        _ = flow.decide(subscriptionID: "rejoined", offset: 5, backlog: SessionSubscriptions.laggingHighWater + 1)
        flow.rejoin(subscriptionID: "rejoined", at: 9)
        flow.remove("rejoined")
        #expect(flow.decide(subscriptionID: "rejoined", offset: 7, backlog: 0) == .write, "a new subscription with the id starts clean")
    }
}
