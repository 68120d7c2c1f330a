import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

/// A core with sessions 1 (langxia-town), 2 and 3 (guangchen-town) attached.
private func coreWithThreeSessions(rules: DeliveryRules = DeliveryRules()) -> BrokerCore {
    var core = BrokerCore(rules: rules)
    core.attach(sessionID: 1, party: langxiaTown)
    core.attach(sessionID: 2, party: guangchenTown)
    core.attach(sessionID: 3, party: guangchenTown)
    return core
}

@Suite("BrokerCore: topics")
struct BrokerCoreTopicTests {
    @Test func topicMessageFansOutToEverySubscriptionIncludingTwoOnOneSession() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic)
        _ = try core.subscribe(1, "b", to: patrolTopic)
        _ = try core.subscribe(2, "c", to: patrolTopic)
        _ = try core.subscribe(3, "other", to: noticesTopic)
        let deliveries = core.publish(to: patrolTopic, in: &log)
        #expect(deliveries.map(\.summary) == ["1/a m-0 #1", "1/b m-0 #1", "2/c m-0 #1"])
        #expect(deliveries.allSatisfy { $0.ackID == nil })
    }

    @Test func unsubscribedSubscriptionGetsNothing() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic)
        _ = try core.subscribe(2, "b", to: patrolTopic)
        #expect(try core.unsubscribe(1, "a").isEmpty)
        #expect(core.publish(to: patrolTopic, in: &log).map(\.summary) == ["2/b m-0 #1"])
    }

    @Test func topicMessagesWithoutSubscribersAreNotKeptForLaterSubscribers() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        #expect(core.publish(to: patrolTopic, in: &log).isEmpty)
        #expect(try core.subscribe(1, "a", to: patrolTopic).isEmpty)
        #expect(try core.subscribe(2, "b", to: patrolTopic, mode: .client).isEmpty)
        #expect(core.consumers[.session(2, subscriptionID: "b")]?.readCursor == 1)
        #expect(core.pump(log).isEmpty)
    }

    @Test func clientAcknowledgedTopicSubscriptionIsAConsumerNotPushed() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .auto)
        _ = try core.subscribe(2, "b", to: patrolTopic, mode: .client)
        #expect(core.publish(to: patrolTopic, in: &log).map(\.summary) == ["1/a m-0 #1"])
        #expect(core.demands(head: log.head).map { "\($0.0) \($0.2)" } == ["session:2/b read(from: 0, limit: 1000)"])
        let pulled = core.pump(log, now: 70)
        #expect(pulled.summaries == ["2/b m-0 #1"])
        #expect(pulled.deliveries.first?.ackID != nil)
        #expect(pulled.eventSummaries == ["delivered m-0 b #1"])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 0)
        #expect(core.pendingCount(sessionID: 2, subscriptionID: "b") == 1)
    }

    @Test func topicNackWithRequeueRedeliversToTheSameSubscription() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .clientIndividual)
        _ = try core.subscribe(2, "b", to: patrolTopic, mode: .clientIndividual)
        _ = core.publish(to: patrolTopic, in: &log)
        let first = core.pump(log).deliveries
        try #require(first.map(\.summary) == ["1/a m-0 #1", "2/b m-0 #1"])
        let again = try core.reject(1, first[0], requeue: true)
        #expect(again.summaries == ["1/a m-0 #2"])
        #expect(again.deliveries.first?.ackID != first[0].ackID)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 1)
        #expect(core.pendingCount(sessionID: 2, subscriptionID: "b") == 1)
    }

    @Test func unsubscribingDeletesTheSessionConsumerAndItsDeliveries() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .client)
        _ = core.publish(to: patrolTopic, in: &log)
        let delivery = try #require(core.pump(log).deliveries.first)
        _ = try core.unsubscribe(1, "a")
        #expect(core.consumers[.session(1, subscriptionID: "a")] == nil)
        #expect(core.pending().isEmpty)
        let error = #expect(throws: BrokerError.self) { try core.acknowledge(1, delivery) }
        #expect(error?.code == .unknownAck)
    }
}

@Suite("BrokerCore: queues")
struct BrokerCoreQueueTests {
    @Test func routeDoesNotPushQueueMessagesButGivesTheQueueItsConsumer() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        log.append(2, to: patrolTopic)
        core.advanceRouted(to: 2)
        _ = try core.subscribe(1, "a", to: noticesTopic)
        #expect(core.publish(to: workOrdersQueue, in: &log).isEmpty)
        #expect(core.consumers[.queue(workOrdersQueue)]?.readCursor == 2)
        #expect(core.routedNext == 3)
    }

    @Test func queueMessagesWaitInTheLogUntilAConsumerSubscribes() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        for _ in 0..<3 { #expect(core.publish(to: workOrdersQueue, in: &log).isEmpty) }
        #expect(core.demands(head: log.head).isEmpty, "no subscriber, no room")
        #expect(try core.subscribe(2, "b", to: workOrdersQueue).isEmpty)
        #expect(core.pump(log).summaries == ["2/b m-0 #1", "2/b m-1 #1", "2/b m-2 #1"])
    }

    @Test func queueMessagesGoRoundRobinToOneConsumerEach() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: workOrdersQueue)
        _ = try core.subscribe(2, "b", to: workOrdersQueue)
        for _ in 0..<4 { _ = core.publish(to: workOrdersQueue, in: &log) }
        #expect(core.pump(log).summaries == ["1/a m-0 #1", "2/b m-1 #1", "1/a m-2 #1", "2/b m-3 #1"])
        #expect(core.pump(log).isEmpty, "each message goes to one consumer once")
    }

    @Test func prefetchLimitsInFlightAndAnAckMakesRoomForTheNext() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .clientIndividual, prefetch: 2)
        for _ in 0..<3 { _ = core.publish(to: workOrdersQueue, in: &log) }
        let delivered = core.pump(log).deliveries
        try #require(delivered.map(\.summary) == ["1/a m-0 #1", "1/a m-1 #1"])
        #expect(core.demands(head: log.head).isEmpty)
        #expect(try core.acknowledge(1, delivered[1]).eventSummaries == ["acked m-1 a #1"])
        #expect(core.pump(log).summaries == ["1/a m-2 #1"])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 2)
    }

    @Test func queueNackWithRequeueRedeliversWithCountTwoPossiblyToAnotherConsumer() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        _ = try core.subscribe(2, "b", to: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        _ = core.publish(to: workOrdersQueue, in: &log)
        let first = core.pump(log).deliveries
        try #require(first.map(\.summary) == ["1/a m-0 #1"])
        #expect(try core.reject(1, first[0], requeue: true).summaries == ["2/b m-0 #2"])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 0)
    }

    @Test func nackWithoutRequeueDeadLettersAndFreesTheSlot() throws {
        let failed = Destination(kind: .queue, name: "work-orders.failed")
        let rules = DeliveryRules(rules: [.init(pattern: "/queue/work-*", policy: DeliveryPolicy(deadLetter: failed))])
        var core = coreWithThreeSessions(rules: rules)
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        for _ in 0..<2 { _ = core.publish(to: workOrdersQueue, in: &log) }
        let first = try #require(core.pump(log).deliveries.first)
        let output = try core.reject(1, first, requeue: false)
        #expect(output.deadLetters.map(\.target) == [failed])
        #expect(output.deadLetters.map(\.message.offset) == [0])
        #expect(output.eventSummaries == ["dead-lettered m-0 a #1"])
        #expect(core.pump(log).summaries == ["1/a m-1 #1"])
    }

    @Test func detachReturnsUnackedQueueMessagesToOtherConsumersWithCountIncremented() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .client)
        for _ in 0..<2 { _ = core.publish(to: workOrdersQueue, in: &log) }
        #expect(core.pump(log).deliveries.count == 2)
        _ = try core.subscribe(2, "b", to: workOrdersQueue, mode: .clientIndividual)
        let redelivered = core.detach(sessionID: 1, now: 900)
        #expect(redelivered.summaries == ["2/b m-0 #2", "2/b m-1 #2"])
        #expect(redelivered.deliveries.allSatisfy { $0.ackID != nil })
        #expect(redelivered.eventSummaries.prefix(2) == ["released m-0 a #1", "released m-1 a #1"])
        #expect(core.sessions[1] == nil)
    }

    @Test func unsubscribedUnackedMessagesWaitAheadOfTheLog() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .client, prefetch: 1)
        for _ in 0..<2 { _ = core.publish(to: workOrdersQueue, in: &log) }
        _ = core.pump(log)
        #expect(try core.unsubscribe(1, "a").eventSummaries == ["released m-0 a #1"])
        #expect(core.consumers[.queue(workOrdersQueue)] != nil, "a queue outlives its subscribers")
        #expect(core.pending(destination: workOrdersQueue).map(\.state) == [.waiting])
        #expect(try core.subscribe(2, "b", to: workOrdersQueue).summaries == ["2/b m-0 #2"])
        #expect(core.pump(log).summaries == ["2/b m-1 #1"])
    }
}

@Suite("BrokerCore: durable subscriptions")
struct BrokerCoreDurableTests {
    private let durableName = ConsumerName.durable(party: langxiaTown, subscriptionID: "d")

    @Test func durableSubscribeCreatesThePartysNamedConsumer() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .client, durable: true)
        #expect(core.consumers[durableName]?.destination == patrolTopic)
        #expect(core.owners[durableName]?.party == langxiaTown)
        #expect(core.owners[durableName]?.subscriptionID == "d")
        #expect(core.publish(to: patrolTopic, in: &log).isEmpty, "a durable subscription pulls")
        #expect(core.pump(log).summaries == ["1/d m-0 #1"])
    }

    @Test func aPartyKeepsAtMostItsLimitOfDurableSubscriptions() throws {
        var core = coreWithThreeSessions(rules: DeliveryRules(maxDurablePerParty: 2))
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .client, durable: true)
        _ = try core.subscribe(1, "b", to: noticesTopic, mode: .client, durable: true)
        _ = try core.unsubscribe(1, "b")  // detached, still kept
        let error = #expect(throws: BrokerError.self) { try core.subscribe(1, "c", to: patrolTopic, mode: .client, durable: true) }
        #expect(error?.code == .limitExceeded)
        #expect(error?.message.contains("limits.max-durable-subscriptions-per-party") == true)
        // Resuming a kept one is not a new one; another party has its own allowance.
        _ = try core.subscribe(1, "b", to: noticesTopic, mode: .client, durable: true)
        _ = try core.subscribe(2, "c", to: patrolTopic, mode: .client, durable: true)
        // Deleting one makes room.
        _ = try core.unsubscribe(1, "b", deleteDurable: true)
        _ = try core.subscribe(1, "c", to: patrolTopic, mode: .client, durable: true)
        #expect(core.owners.values.filter { $0.party == langxiaTown }.map(\.subscriptionID).sorted() == ["a", "c"])
    }

    @Test func secondDurableSubscribeWithTheSameIDToAnotherDestinationConflicts() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .client, durable: true)
        _ = try core.unsubscribe(1, "d")
        let error = #expect(throws: BrokerError.self) { try core.subscribe(1, "d", to: noticesTopic, mode: .client, durable: true) }
        #expect(error?.code == .durableConflict)
        #expect(error?.message.contains("use another id") == true, "the error says what to do: \(error?.message ?? "")")
        #expect(core.consumers[durableName]?.destination == patrolTopic)
        #expect(!core.hasSubscription(sessionID: 1, subscriptionID: "d"))
    }

    @Test func unsubscribeKeepsTheDurableConsumerAndItsReadCursor() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .client, durable: true)
        _ = core.publish(to: patrolTopic, in: &log)
        _ = try core.acknowledge(1, try #require(core.pump(log).deliveries.first))
        _ = try core.unsubscribe(1, "d", deleteDurable: false)
        #expect(core.consumers[durableName]?.readCursor == 1)
        for _ in 0..<2 { _ = core.publish(to: patrolTopic, in: &log) }
        #expect(core.pump(log).isEmpty, "nobody attached")
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .client, durable: true)
        #expect(core.pump(log).summaries == ["1/d m-1 #1", "1/d m-2 #1"])
    }

    @Test func aDurableSubscriptionInUseByAnotherConnectionIsNotDeleted() throws {
        var core = coreWithThreeSessions()
        core.attach(sessionID: 4, party: langxiaTown)
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .client, durable: true)
        _ = try core.subscribe(4, "d", to: patrolTopic, mode: .client, durable: true)
        let error = #expect(throws: BrokerError.self) { try core.unsubscribe(1, "d", deleteDurable: true) }
        #expect(error?.code == .durableConflict)
        #expect(core.hasSubscription(sessionID: 1, subscriptionID: "d"), "the refused UNSUBSCRIBE changes nothing")
        _ = try core.unsubscribe(4, "d", deleteDurable: false)
        _ = try core.unsubscribe(1, "d", deleteDurable: true)
        #expect(core.consumers[durableName] == nil)
    }

    @Test func detachingTheSessionKeepsTheDurableConsumerWithItsUnackedMessages() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .client, durable: true)
        _ = core.publish(to: patrolTopic, in: &log)
        _ = core.pump(log)
        #expect(core.detach(sessionID: 1, now: 10).eventSummaries == ["released m-0 d #1"])
        core.attach(sessionID: 4, party: langxiaTown)
        #expect(try core.subscribe(4, "d", to: patrolTopic, mode: .client, durable: true, now: 20).summaries == ["4/d m-0 #2"])
    }

    @Test func unsubscribeWithDeleteDurableDeletesTheConsumer() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .client, durable: true)
        _ = core.publish(to: patrolTopic, in: &log)
        _ = try core.unsubscribe(1, "d", deleteDurable: true)
        #expect(core.consumers[durableName] == nil)
        #expect(core.owners[durableName] == nil)
        _ = try core.subscribe(1, "d", to: noticesTopic, mode: .client, durable: true)
        #expect(core.consumers[durableName]?.destination == noticesTopic, "the id is free again")
    }

    @Test func newDurableSubscriptionMayStartEarlierInTheLog() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        for _ in 0..<3 { _ = core.publish(to: patrolTopic, in: &log) }
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .auto, durable: true, start: 1)
        let output = core.pump(log, now: 5)
        #expect(output.summaries == ["1/d m-1 #1", "1/d m-2 #1"])
        #expect(output.eventSummaries == ["consumed m-1 d #1", "consumed m-2 d #1"])
    }

    @Test func durableSubscriptionsOfDifferentPartiesWithOneIDAreApart() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "d", to: patrolTopic, mode: .client, durable: true)
        _ = try core.subscribe(2, "d", to: noticesTopic, mode: .client, durable: true)
        #expect(core.consumers[.durable(party: guangchenTown, subscriptionID: "d")]?.destination == noticesTopic)
        #expect(core.consumers[durableName]?.destination == patrolTopic)
    }
}

@Suite("BrokerCore: acknowledgements")
struct BrokerCoreAckTests {
    /// Session 1 subscribes "a" to the joint patrol topic in `mode` and is delivered three messages at 1 000.
    private func threeDeliveries(_ mode: AckMode, ackWait: Int64 = 30_000) throws -> (BrokerCore, [Delivery]) {
        var core = coreWithThreeSessions(rules: DeliveryRules(fallback: DeliveryPolicy(ackWait: ackWait)))
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: mode)
        for _ in 0..<3 { _ = core.publish(to: patrolTopic, in: &log) }
        let deliveries = core.pump(log, now: 1_000).deliveries
        try #require(deliveries.count == 3)
        return (core, deliveries)
    }

    @Test func clientAckSettlesEveryEarlierDelivery() throws {
        let (start, deliveries) = try threeDeliveries(.client)
        var core = start
        #expect(try core.acknowledge(1, deliveries[1]).eventSummaries == ["acked m-0 a #1", "acked m-1 a #1"])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 1)
        let error = #expect(throws: BrokerError.self) { try core.acknowledge(1, deliveries[0]) }
        #expect(error?.code == .unknownAck)
        _ = try core.acknowledge(1, deliveries[2])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 0)
    }

    @Test func clientIndividualAckSettlesOnlyTheNamedDelivery() throws {
        let (start, deliveries) = try threeDeliveries(.clientIndividual)
        var core = start
        _ = try core.acknowledge(1, deliveries[1])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 2)
        _ = try core.acknowledge(1, deliveries[0])
        _ = try core.acknowledge(1, deliveries[2])
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 0)
    }

    @Test func ackIDsGrowAndAreUniqueAcrossSubscriptions() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .client)
        _ = try core.subscribe(2, "b", to: patrolTopic, mode: .clientIndividual)
        for _ in 0..<3 { _ = core.publish(to: patrolTopic, in: &log) }
        let ids = core.pump(log).deliveries.compactMap(\.ackID)
        #expect(ids.count == 6)
        #expect(ids == ids.sorted() && Set(ids).count == 6)
    }

    @Test func ackFromAnotherSessionIsAnUnknownAck() throws {
        let (start, deliveries) = try threeDeliveries(.clientIndividual)
        var core = start
        let error = #expect(throws: BrokerError.self) { try core.acknowledge(2, deliveries[0]) }
        #expect(error?.code == .unknownAck)
        #expect(core.pendingCount(sessionID: 1, subscriptionID: "a") == 3)
    }

    @Test(arguments: ["999", "abc", "", "-1"])
    func ackOfAnIDNeverHandedOutIsAnUnknownAck(ackID: String) throws {
        var core = try threeDeliveries(.clientIndividual).0
        let error = #expect(throws: BrokerError.self) { try core.acknowledge(sessionID: 1, ackID: ackID, now: 0) }
        #expect(error?.code == .unknownAck)
    }

    @Test func settlingTwiceIsAnUnknownAck() throws {
        let (start, deliveries) = try threeDeliveries(.clientIndividual)
        var core = start
        _ = try core.acknowledge(1, deliveries[0])
        let ack = #expect(throws: BrokerError.self) { try core.acknowledge(1, deliveries[0]) }
        #expect(ack?.code == .unknownAck)
        let nack = #expect(throws: BrokerError.self) { try core.reject(1, deliveries[0], requeue: true) }
        #expect(nack?.code == .unknownAck)
    }

    @Test func ackForExpiredDeliveryIsRefusedAsSuperseded() throws {
        let (start, deliveries) = try threeDeliveries(.clientIndividual, ackWait: 1_000)
        var core = start
        #expect(core.nextDeadline() == 2_000)
        let redelivered = core.tick(now: 2_000)
        #expect(redelivered.summaries == ["1/a m-0 #2", "1/a m-1 #2", "1/a m-2 #2"])
        let error = #expect(throws: BrokerError.self) { try core.acknowledge(1, deliveries[0], now: 2_100) }
        #expect(error?.code == .ackSuperseded)
        let current = try #require(redelivered.deliveries.first)
        #expect(try core.acknowledge(1, current, now: 2_200).eventSummaries == ["acked m-0 a #2"])
    }

    @Test func pendingListsInFlightAndWaitingEntriesByDestinationAndParty() throws {
        var core = coreWithThreeSessions()
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        _ = try core.subscribe(2, "b", to: patrolTopic, mode: .client)
        _ = core.publish(to: workOrdersQueue, in: &log)
        _ = core.publish(to: patrolTopic, in: &log)
        _ = core.pump(log, now: 40)
        _ = try core.unsubscribe(1, "a", now: 50)
        let queued = PendingDelivery(consumer: .queue(workOrdersQueue), destination: workOrdersQueue, offset: 0, party: langxiaTown,
                                     subscriptionID: "a", deliveryCount: 1, since: 50, state: .waiting)
        let topical = PendingDelivery(consumer: .session(2, subscriptionID: "b"), destination: patrolTopic, offset: 1, party: guangchenTown,
                                      subscriptionID: "b", deliveryCount: 1, since: 40, state: .delivered)
        #expect(core.pending() == [queued, topical])
        #expect(core.pending(destination: workOrdersQueue) == [queued])
        #expect(core.pending(party: guangchenTown) == [topical])
    }

    @Test func subscriptionBookkeepingErrors() throws {
        var core = coreWithThreeSessions()
        _ = try core.subscribe(1, "a", to: patrolTopic)
        let duplicate = #expect(throws: BrokerError.self) { try core.subscribe(1, "a", to: workOrdersQueue) }
        #expect(duplicate?.code == .duplicateSubscription)
        #expect(try core.subscribe(2, "a", to: patrolTopic).isEmpty)  // ids are per session
        let unknown = #expect(throws: BrokerError.self) { try core.unsubscribe(1, "zz") }
        #expect(unknown?.code == .unknownSubscription)
        let detached = #expect(throws: BrokerError.self) { try core.subscribe(99, "a", to: patrolTopic) }
        #expect(detached?.code == .notConnected)
    }
}
