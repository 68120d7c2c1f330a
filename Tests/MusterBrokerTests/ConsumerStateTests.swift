import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

// Specifications of a tracked consumer: what it asks the log for (also after a restart), what it
// delivers, and how acknowledgements settle deliveries. Redelivery after the ack-wait, a NACK or
// a subscriber leaving, and dead letters, are specified in ConsumerRedeliveryTests.swift.

@Suite("ConsumerState: reading and delivering")
struct ConsumerDeliveryTests {
    @Test func demandReadsNewMessagesFromTheReadCursorUpToTheRemainingCapacity() {
        var rig = ConsumerRig(readCursor: 3)
        rig.attach(subscriberA, limit: 5)
        #expect(rig.consumer.demand(head: 10) == .read(from: 3, limit: 5))
        #expect(rig.consumer.demand(head: 3) == nil, "nothing new in the log")
    }

    @Test func consumerWithoutSubscribersDemandsNothing() {
        let rig = ConsumerRig()
        #expect(rig.consumer.demand(head: 10) == nil)
    }

    @Test func offeredMessagesGoOutInOffsetOrderAndAdvanceTheReadCursor() {
        var rig = ConsumerRig()
        rig.attach(subscriberA)
        rig.publish()
        rig.log.append(to: patrolTopic)
        rig.publish(2)
        rig.log.append(to: patrolTopic)
        let output = rig.pump(now: 5_000)
        #expect(output.summaries == ["1/a m-0 #1", "1/a m-2 #1", "1/a m-3 #1"])
        #expect(output.deliveries.map(\.ackID) == [1, 2, 3])
        #expect(output.deadLetters.isEmpty)
        #expect(rig.consumer.readCursor == 5, "the read passed m-4, which is not for this consumer")
        #expect(rig.consumer.demand(head: 5) == nil)
    }

    @Test func messagesBelowTheReadCursorOrOfOtherDestinationsAreNotDelivered() {
        var rig = ConsumerRig(readCursor: 2)
        rig.attach(subscriberA)
        let offered = [stored(0, to: workOrdersQueue), stored(1, to: workOrdersQueue), stored(2, to: workOrdersQueue),
                       stored(3, to: patrolTopic), stored(4, to: workOrdersQueue)]
        let output = rig.consumer.offer(offered, scannedTo: 5, now: 0, ackIDs: &rig.ackIDs)
        #expect(output.summaries == ["1/a m-2 #1", "1/a m-4 #1"])
        #expect(rig.consumer.readCursor == 5)
    }

    @Test func everyDeliveryIsRecordedWithWhoGotWhatAndWhen() {
        var rig = ConsumerRig()
        rig.attach(subscriberA, party: guangchenTown, mode: .client)
        rig.publish()
        let output = rig.pump(now: 5_000)
        #expect(output.events == [
            LedgerEvent(kind: .delivered, consumer: .queue(workOrdersQueue), generation: ConsumerRig.generation,
                        destination: workOrdersQueue, offset: 0, party: guangchenTown, subscriptionID: "a",
                        deliveryCount: 1, deliveredAt: 5_000, at: 5_000),
        ])
    }

    @Test func autoModeSubscriberConsumesWithoutAckIDsAndKeepsNothingInFlight() {
        var rig = ConsumerRig()
        rig.attach(subscriberA, party: langxiaTown, mode: .auto, limit: 1)
        rig.publish(3)
        let output = rig.pump(now: 900)
        #expect(output.summaries == ["1/a m-0 #1", "1/a m-1 #1", "1/a m-2 #1"], "an auto subscriber is not bound by prefetch")
        #expect(output.deliveries.allSatisfy { $0.ackID == nil })
        #expect(output.eventSummaries == ["consumed m-0 a #1", "consumed m-1 a #1", "consumed m-2 a #1"])
        #expect(output.events.allSatisfy { $0.party == langxiaTown && $0.deliveredAt == 900 && $0.at == 900 })
        #expect(rig.ackIDs == 0)
        #expect(rig.consumer.inFlightCount == 0)
        #expect(rig.consumer.pending.isEmpty)
        #expect(rig.consumer.floor == 3)
    }

    @Test func eachDeliveryGetsAFreshAckIDFromTheCounter() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(ackWait: 1_000), firstAckID: 41)
        rig.attach(subscriberA)
        rig.publish(2)
        let first = rig.pump(now: 0)
        #expect(first.deliveries.map(\.ackID) == [42, 43])
        #expect(rig.ackIDs == 43)
        let again = rig.tick(now: 1_000)
        #expect(again.deliveries.map(\.ackID) == [44, 45])
    }
}

@Suite("ConsumerState: prefetch and round-robin")
struct ConsumerPrefetchTests {
    @Test func prefetchBoundsInFlight() throws {
        var rig = ConsumerRig()
        rig.attach(subscriberA, limit: 2)
        rig.publish(3)
        let first = rig.pump(now: 0)
        #expect(first.summaries == ["1/a m-0 #1", "1/a m-1 #1"])
        #expect(rig.consumer.inFlightCount == 2)
        #expect(rig.consumer.readCursor == 2, "m-2 stays in the log")
        #expect(rig.consumer.demand(head: 3) == nil, "no room")
        _ = try rig.ack(try #require(first.deliveries.first), now: 10)
        #expect(rig.consumer.demand(head: 3) == .read(from: 2, limit: 1))
        #expect(rig.pump(now: 20).summaries == ["1/a m-2 #1"])
    }

    @Test func demandLimitIsTheRemainingCapacityOfAllSubscribers() {
        var rig = ConsumerRig()
        rig.attach(subscriberA, limit: 2)
        rig.attach(subscriberB, limit: 3)
        #expect(rig.consumer.demand(head: 10) == .read(from: 0, limit: 5))
        rig.publish(2)
        #expect(rig.pump(now: 0).deliveries.count == 2)
        #expect(rig.consumer.demand(head: 10) == .read(from: 2, limit: 3))
    }

    @Test func queueMessagesAlternateBetweenSubscribersWithRoom() {
        var rig = ConsumerRig()
        rig.attach(subscriberA)
        rig.attach(subscriberB)
        rig.publish(4)
        #expect(rig.pump(now: 0).summaries == ["1/a m-0 #1", "2/b m-1 #1", "1/a m-2 #1", "2/b m-3 #1"])
    }

    @Test func subscriberAtItsPrefetchLimitIsSkipped() {
        var rig = ConsumerRig()
        rig.attach(subscriberA, limit: 1)
        rig.attach(subscriberB, limit: 3)
        rig.publish(5)
        #expect(rig.pump(now: 0).summaries == ["1/a m-0 #1", "2/b m-1 #1", "2/b m-2 #1", "2/b m-3 #1"])
        #expect(rig.consumer.readCursor == 4)
    }
}

@Suite("ConsumerState: acknowledgements")
struct ConsumerAckTests {
    /// A consumer whose subscriber "a" (in `mode`) was delivered m-0, m-1 and m-2 at 1 000.
    private func threeDelivered(_ mode: AckMode) throws -> (ConsumerRig, [Delivery]) {
        var rig = ConsumerRig()
        rig.attach(subscriberA, mode: mode)
        rig.publish(3)
        let deliveries = rig.pump(now: 1_000).deliveries
        try #require(deliveries.count == 3)
        return (rig, deliveries)
    }

    @Test func cumulativeAckSettlesEarlierDeliveries() throws {
        let (start, deliveries) = try threeDelivered(.client)
        var rig = start
        let output = try rig.ack(deliveries[1], now: 1_500)
        #expect(output.eventSummaries == ["acked m-0 a #1", "acked m-1 a #1"])
        #expect(output.deliveries.isEmpty)
        #expect(rig.consumer.pending.map(\.offset) == [2])
        let settled = #expect(throws: BrokerError.self) { try rig.ack(deliveries[0], now: 1_600) }
        #expect(settled?.code == .unknownAck)
        #expect(try rig.ack(deliveries[2], now: 1_700).eventSummaries == ["acked m-2 a #1"])
        #expect(rig.consumer.inFlightCount == 0)
    }

    @Test func cumulativeAckIsPerSubscription() throws {
        var rig = ConsumerRig()
        rig.attach(subscriberA, mode: .client)
        rig.attach(subscriberB, mode: .client)
        rig.publish(3)
        let deliveries = rig.pump(now: 0).deliveries
        try #require(deliveries.map(\.summary) == ["1/a m-0 #1", "2/b m-1 #1", "1/a m-2 #1"])
        #expect(try rig.ack(deliveries[2], now: 10).eventSummaries == ["acked m-0 a #1", "acked m-2 a #1"])
        #expect(rig.consumer.pending.map(\.offset) == [1], "b's delivery is b's to acknowledge")
    }

    @Test func individualAckSettlesOnlyTheNamedDelivery() throws {
        let (start, deliveries) = try threeDelivered(.clientIndividual)
        var rig = start
        #expect(try rig.ack(deliveries[1], now: 1_500).eventSummaries == ["acked m-1 a #1"])
        #expect(rig.consumer.pending.map(\.offset) == [0, 2])
    }

    @Test func ackedEventKeepsTheDeliveryAndTheTimeOfTheAck() throws {
        let (start, deliveries) = try threeDelivered(.clientIndividual)
        var rig = start
        let output = try rig.ack(deliveries[0], now: 1_250)
        #expect(output.events == [
            LedgerEvent(kind: .acked, consumer: .queue(workOrdersQueue), generation: ConsumerRig.generation,
                        destination: workOrdersQueue, offset: 0, party: guangchenTown, subscriptionID: "a",
                        deliveryCount: 1, deliveredAt: 1_000, at: 1_250),
        ])
    }

    @Test func unknownAckIDIsRefused() throws {
        var rig = try threeDelivered(.clientIndividual).0
        let error = #expect(throws: BrokerError.self) {
            try rig.consumer.acknowledge(ackID: 999, from: subscriberA, now: 0, ackIDs: &rig.ackIDs)
        }
        #expect(error?.code == .unknownAck)
        #expect(rig.consumer.inFlightCount == 3)
    }

    @Test func ackOfAnotherSubscriptionsDeliveryIsRefusedAndLeavesItInFlight() throws {
        let (start, deliveries) = try threeDelivered(.clientIndividual)
        var rig = start
        let ackID = try #require(deliveries[0].ackID)
        rig.attach(subscriberB)
        let error = #expect(throws: BrokerError.self) {
            try rig.consumer.acknowledge(ackID: ackID, from: subscriberB, now: 0, ackIDs: &rig.ackIDs)
        }
        #expect(error?.code == .unknownAck)
        #expect(rig.consumer.knows(ackID: ackID, from: subscriberA))
        #expect(!rig.consumer.knows(ackID: ackID, from: subscriberB))
        #expect(rig.consumer.inFlightCount == 3)
    }

    @Test func pendingListsUnsettledDeliveriesByOffsetAndFloorIsTheLowest() throws {
        let (start, deliveries) = try threeDelivered(.clientIndividual)
        var rig = start
        _ = try rig.ack(deliveries[0], now: 1_100)
        #expect(rig.consumer.pending == [1, 2].map {
            PendingDelivery(consumer: .queue(workOrdersQueue), destination: workOrdersQueue, offset: $0, party: guangchenTown,
                            subscriptionID: "a", deliveryCount: 1, since: 1_000, state: .delivered)
        })
        #expect(rig.consumer.floor == 1)
        #expect(rig.consumer.readCursor == 3)
    }
}

@Suite("ConsumerState: after a restart")
struct ConsumerRestoreTests {
    /// A queue consumer that had read m-0 … m-4 and is owed redeliveries of `waiting` (offset, deliveries so far).
    private func restored(_ waiting: [(UInt64, Int)], policy: DeliveryPolicy = DeliveryPolicy()) -> ConsumerRig {
        var rig = ConsumerRig(policy: policy, readCursor: 5)
        rig.publish(6)
        for (offset, count) in waiting {
            rig.consumer.restoreWaiting(offset: offset, deliveryCount: count, party: langxiaTown, subscriptionID: "a", since: 100)
        }
        return rig
    }

    @Test func restoredWaitingMessagesAreFetchedAndRedeliveredWithRedeliveredCount() {
        var rig = restored([(2, 1)])
        #expect(rig.consumer.pending.map(\.state) == [.waiting])
        rig.attach(subscriberB)
        #expect(rig.consumer.demand(head: 6) == .fetch([2]))
        #expect(rig.pump(now: 1_000).summaries == ["2/b m-2 #2"])
        #expect(rig.consumer.demand(head: 6) == .read(from: 5, limit: 9))
        #expect(rig.pump(now: 1_000).summaries == ["2/b m-5 #1"])
    }

    @Test func fetchAsksForTheLowestOffsetsUpToCapacity() {
        var rig = restored([(4, 1), (1, 2), (3, 1)])
        rig.attach(subscriberB, limit: 2)
        #expect(rig.consumer.demand(head: 6) == .fetch([1, 3]))
        #expect(rig.pump(now: 0).summaries == ["2/b m-1 #3", "2/b m-3 #2"])
    }

    @Test func restoredMessagesTheLogNoLongerHoldsArePruned() {
        var rig = restored([(1, 1)])
        rig.attach(subscriberB)
        let output = rig.consumer.offer([], scannedTo: nil, missing: [1], now: 50, ackIDs: &rig.ackIDs)
        #expect(output.deliveries.isEmpty)
        #expect(output.eventSummaries == ["pruned m-1 a #1"])
        #expect(output.events.first?.party == langxiaTown)
        #expect(output.events.first?.reason?.contains("retention") == true)
        #expect(rig.consumer.waitingCount == 0)
        #expect(rig.consumer.demand(head: 6) == .read(from: 5, limit: 10))
    }

    @Test func restoredMessageThatHadItsLastDeliveryIsDeadLettered() throws {
        var rig = restored([(1, 3)], policy: DeliveryPolicy(maxDeliveries: 3))
        rig.attach(subscriberB)
        let output = rig.pump(now: 0)
        #expect(output.deliveries.isEmpty)
        #expect(output.eventSummaries == ["dead-lettered m-1 a #3"])
        let deadLetter = try #require(output.deadLetters.first)
        #expect(deadLetter.message.offset == 1)
        #expect(deadLetter.target == DeliveryPolicy.defaultDeadLetter)
        #expect(deadLetter.deliveryCount == 3)
        #expect(deadLetter.reason.contains("max-deliveries (3)"))
    }
}
