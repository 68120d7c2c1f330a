import Testing
@testable import MusterBroker
import MusterStomp

/// A core with sessions 1, 2 and 3 attached.
private func coreWithThreeSessions() -> BrokerCore {
    var core = BrokerCore()
    core.attach(sessionID: 1, party: langxiaTown)
    core.attach(sessionID: 2, party: guangchenTown)
    core.attach(sessionID: 3, party: guangchenTown)
    return core
}

@Suite("BrokerCore: topics")
struct BrokerCoreTopicTests {
    @Test func topicMessageFansOutToEverySubscriptionIncludingTwoOnOneSession() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic)
        _ = try core.subscribe(1, "b", to: patrolTopic)
        _ = try core.subscribe(2, "c", to: patrolTopic)
        _ = try core.subscribe(3, "other", to: noticesTopic)
        let deliveries = core.route(stored(0, to: patrolTopic))
        #expect(deliveries.map(\.summary) == ["1/a m-0 #1", "1/b m-0 #1", "2/c m-0 #1"])
    }

    @Test func unsubscribedSubscriptionGetsNothing() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic)
        _ = try core.subscribe(2, "b", to: patrolTopic)
        _ = try core.unsubscribe(sessionID: 1, subscriptionID: "a")
        #expect(core.route(stored(0, to: patrolTopic)).map(\.summary) == ["2/b m-0 #1"])
    }

    @Test func topicMessagesWithoutSubscribersAreNotKeptForLaterSubscribers() throws {
        var core = coreWithThreeSessions()
        #expect(core.route(stored(0, to: patrolTopic)).isEmpty)
        #expect(try core.subscribe(1, "a", to: patrolTopic).isEmpty)
        #expect(core.backlog(of: patrolTopic) == 0)
    }

    @Test func autoModeDeliveriesHaveNoAckIDAndAreNotPending() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .auto)
        _ = try core.subscribe(2, "b", to: patrolTopic, mode: .client)
        let deliveries = core.route(stored(0, to: patrolTopic))
        #expect(deliveries[0].ackID == nil)
        #expect(deliveries[1].ackID != nil)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 0)
        #expect(core.pendingCount(sessionID: 2, subscriptionID: "b") == 1)
    }

    @Test func topicNackWithRequeueRedeliversToTheSameSubscription() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .clientIndividual)
        _ = try core.subscribe(2, "b", to: patrolTopic, mode: .clientIndividual)
        let first = core.route(stored(0, to: patrolTopic))[0]
        let again = try core.reject(sessionID: 1, ackID: first.ackHeader, requeue: true)
        #expect(again.map(\.summary) == ["1/a m-0 #2"])
        #expect(again[0].ackID != first.ackID)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 1)
    }

    @Test func unsubscribingDropsPendingTopicDeliveries() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .client)
        let delivery = core.route(stored(0, to: patrolTopic))[0]
        #expect(try core.unsubscribe(sessionID: 1, subscriptionID: "a").isEmpty)
        #expect(throws: BrokerError.self) { try core.acknowledge(sessionID: 1, ackID: delivery.ackHeader) }
    }
}

@Suite("BrokerCore: queues")
struct BrokerCoreQueueTests {
    @Test func queueMessagesGoRoundRobinToOneConsumerEach() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: workOrdersQueue)
        _ = try core.subscribe(2, "b", to: workOrdersQueue)
        let deliveries = (0..<4).flatMap { core.route(stored($0, to: workOrdersQueue)) }
        #expect(deliveries.map(\.summary) == ["1/a m-0 #1", "2/b m-1 #1", "1/a m-2 #1", "2/b m-3 #1"])
    }

    @Test func queueBacklogIsKeptUntilAConsumerSubscribes() throws {
        var core = coreWithThreeSessions()
        for offset: UInt64 in 0..<3 { #expect(core.route(stored(offset, to: workOrdersQueue)).isEmpty) }
        #expect(core.backlog(of: workOrdersQueue) == 3)
        let deliveries = try core.subscribe(2, "b", to: workOrdersQueue)
        #expect(deliveries.map(\.summary) == ["2/b m-0 #1", "2/b m-1 #1", "2/b m-2 #1"])
        #expect(core.backlog(of: workOrdersQueue) == 0)
    }

    @Test func prefetchLimitsInFlightAndAnAckReleasesTheNext() throws {
        var core = coreWithThreeSessions()
        let first = try core.subscribe(1, "a", to: workOrdersQueue, mode: .clientIndividual, prefetch: 2)
        #expect(first.isEmpty)
        let delivered = (0..<3).flatMap { core.route(stored($0, to: workOrdersQueue)) }
        #expect(delivered.map(\.summary) == ["1/a m-0 #1", "1/a m-1 #1"])
        #expect(core.backlog(of: workOrdersQueue) == 1)
        let released = try core.acknowledge(sessionID: 1, ackID: delivered[1].ackHeader)
        #expect(released.map(\.summary) == ["1/a m-2 #1"])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 2)
    }

    @Test func aConsumerAtItsPrefetchLimitIsSkipped() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .client, prefetch: 1)
        _ = try core.subscribe(2, "b", to: workOrdersQueue)
        let deliveries = (0..<3).flatMap { core.route(stored($0, to: workOrdersQueue)) }
        #expect(deliveries.map(\.summary) == ["1/a m-0 #1", "2/b m-1 #1", "2/b m-2 #1"])
    }

    @Test func queueNackWithRequeueRedeliversWithCountTwoPossiblyToAnotherConsumer() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        _ = try core.subscribe(2, "b", to: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        let first = core.route(stored(0, to: workOrdersQueue))
        #expect(first.map(\.summary) == ["1/a m-0 #1"])
        let again = try core.reject(sessionID: 1, ackID: first[0].ackHeader, requeue: true)
        #expect(again.map(\.summary) == ["2/b m-0 #2"])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 0)
    }

    @Test func nackedMessageGoesBackAheadOfTheBacklog() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        let first = (0..<2).flatMap { core.route(stored($0, to: workOrdersQueue)) }
        #expect(first.map(\.summary) == ["1/a m-0 #1"])
        let again = try core.reject(sessionID: 1, ackID: first[0].ackHeader, requeue: true)
        #expect(again.map(\.summary) == ["1/a m-0 #2"])
        #expect(core.backlog(of: workOrdersQueue) == 1)
    }

    @Test func nackWithoutRequeueDropsTheMessageAndFreesTheSlot() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        let first = (0..<2).flatMap { core.route(stored($0, to: workOrdersQueue)) }
        let next = try core.reject(sessionID: 1, ackID: first[0].ackHeader, requeue: false)
        #expect(next.map(\.summary) == ["1/a m-1 #1"])
        #expect(core.backlog(of: workOrdersQueue) == 0)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 1)
    }

    @Test func detachReturnsUnackedQueueMessagesToOtherConsumersWithCountIncremented() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .client)
        #expect((0..<2).flatMap { core.route(stored($0, to: workOrdersQueue)) }.count == 2)
        #expect(try core.subscribe(2, "b", to: workOrdersQueue, mode: .clientIndividual).isEmpty)
        let redelivered = core.detach(sessionID: 1)
        #expect(redelivered.map(\.summary) == ["2/b m-0 #2", "2/b m-1 #2"])
        #expect(redelivered.allSatisfy { $0.ackID != nil })
        #expect(core.sessions[1] == nil)
    }

    @Test func unsubscribedUnackedMessagesWaitAheadOfTheBacklog() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .client, prefetch: 1)
        _ = (0..<2).flatMap { core.route(stored($0, to: workOrdersQueue)) }
        #expect(try core.unsubscribe(sessionID: 1, subscriptionID: "a").isEmpty)
        #expect(core.backlog(of: workOrdersQueue) == 2)
        #expect(try core.subscribe(2, "b", to: workOrdersQueue).map(\.summary) == ["2/b m-0 #2", "2/b m-1 #1"])
    }
}

@Suite("BrokerCore: acknowledgements")
struct BrokerCoreAckTests {
    /// Session 1 subscribes "a" to the joint patrol topic in `mode` and receives three messages.
    private func threeDeliveries(_ mode: AckMode) throws -> (BrokerCore, [Delivery]) {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: mode)
        let deliveries = (0..<3).flatMap { core.route(stored($0, to: patrolTopic)) }
        return (core, deliveries)
    }

    @Test func clientAckSettlesEveryEarlierDelivery() throws {
        let (start, deliveries) = try threeDeliveries(.client)
        var core = start
        _ = try core.acknowledge(sessionID: 1, ackID: deliveries[1].ackHeader)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 1)
        let error = #expect(throws: BrokerError.self) { try core.acknowledge(sessionID: 1, ackID: deliveries[0].ackHeader) }
        #expect(error?.code == .unknownAck)
        _ = try core.acknowledge(sessionID: 1, ackID: deliveries[2].ackHeader)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 0)
    }

    @Test func clientIndividualAckSettlesOnlyTheNamedDelivery() throws {
        let (start, deliveries) = try threeDeliveries(.clientIndividual)
        var core = start
        _ = try core.acknowledge(sessionID: 1, ackID: deliveries[1].ackHeader)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 2)
        _ = try core.acknowledge(sessionID: 1, ackID: deliveries[0].ackHeader)
        _ = try core.acknowledge(sessionID: 1, ackID: deliveries[2].ackHeader)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 0)
    }

    @Test func ackIDsGrowAndAreUniqueAcrossSubscriptions() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .client)
        _ = try core.subscribe(2, "b", to: patrolTopic, mode: .clientIndividual)
        let ids = (0..<3).flatMap { core.route(stored($0, to: patrolTopic)) }.compactMap(\.ackID)
        #expect(ids.count == 6)
        #expect(ids == ids.sorted() && Set(ids).count == 6)
    }

    @Test func ackFromAnotherSessionIsAnUnknownAck() throws {
        let (start, deliveries) = try threeDeliveries(.clientIndividual)
        var core = start
        let error = #expect(throws: BrokerError.self) { try core.acknowledge(sessionID: 2, ackID: deliveries[0].ackHeader) }
        #expect(error?.code == .unknownAck)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 3)
    }

    @Test(arguments: ["999", "abc", "", "-1"])
    func ackOfAnIDNeverHandedOutIsAnUnknownAck(ackID: String) throws {
        var core = try threeDeliveries(.clientIndividual).0
        let error = #expect(throws: BrokerError.self) { try core.acknowledge(sessionID: 1, ackID: ackID) }
        #expect(error?.code == .unknownAck)
    }

    @Test func settlingTwiceIsAnUnknownAck() throws {
        let (start, deliveries) = try threeDeliveries(.clientIndividual)
        var core = start
        _ = try core.acknowledge(sessionID: 1, ackID: deliveries[0].ackHeader)
        let ack = #expect(throws: BrokerError.self) { try core.acknowledge(sessionID: 1, ackID: deliveries[0].ackHeader) }
        #expect(ack?.code == .unknownAck)
        let nack = #expect(throws: BrokerError.self) { try core.reject(sessionID: 1, ackID: deliveries[0].ackHeader, requeue: true) }
        #expect(nack?.code == .unknownAck)
    }

    @Test func subscriptionBookkeepingErrors() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic)
        let duplicate = #expect(throws: BrokerError.self) { try core.subscribe(1, "a", to: workOrdersQueue) }
        #expect(duplicate?.code == .duplicateSubscription)
        #expect(try core.subscribe(2, "a", to: patrolTopic).isEmpty)  // ids are per session
        let unknown = #expect(throws: BrokerError.self) { try core.unsubscribe(sessionID: 1, subscriptionID: "zz") }
        #expect(unknown?.code == .unknownSubscription)
        let detached = #expect(throws: BrokerError.self) { try core.subscribe(99, "a", to: patrolTopic) }
        #expect(detached?.code == .notConnected)
    }
}
