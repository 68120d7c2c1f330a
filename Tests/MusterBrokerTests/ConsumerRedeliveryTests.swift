import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

// Specifications of how a tracked consumer delivers a message again: after the ack-wait,
// after a NACK, and when a subscriber leaves; and when it gives up (dead letters). Time is a
// fake clock: each step passes its `now` in milliseconds.

/// Dead letters of the work-orders queue go here in these specifications.
private let failedOrders = Destination(kind: .queue, name: "work-orders.failed")

@Suite("ConsumerState: ack-wait")
struct ConsumerAckWaitTests {
    @Test func redeliversAfterAckWait() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(ackWait: 1_000))
        rig.attach(subscriberA, party: langxiaTown)
        rig.publish()
        let first = try #require(rig.pump(now: 10_000).deliveries.first)
        #expect(rig.consumer.nextDeadline == 11_000)
        #expect(rig.tick(now: 10_999).isEmpty, "the ack-wait has not run out yet")
        let output = rig.tick(now: 11_000)
        #expect(output.summaries == ["1/a m-0 #2"])
        #expect(output.deliveries.first?.ackID != first.ackID)
        #expect(output.events == [
            LedgerEvent(kind: .expired, consumer: .queue(workOrdersQueue), generation: ConsumerRig.generation,
                        destination: workOrdersQueue, offset: 0, party: langxiaTown, subscriptionID: "a",
                        deliveryCount: 1, deliveredAt: 10_000, at: 11_000, reason: "ack-wait of 1 s expired"),
            LedgerEvent(kind: .delivered, consumer: .queue(workOrdersQueue), generation: ConsumerRig.generation,
                        destination: workOrdersQueue, offset: 0, party: langxiaTown, subscriptionID: "a",
                        deliveryCount: 2, deliveredAt: 11_000, at: 11_000),
        ])
        #expect(rig.consumer.nextDeadline == 12_000)
    }

    @Test func ackForExpiredDeliveryIsRefusedAsSuperseded() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(ackWait: 1_000))
        rig.attach(subscriberA)
        rig.publish()
        let first = try #require(rig.pump(now: 0).deliveries.first)
        let second = try #require(rig.tick(now: 1_000).deliveries.first)
        let error = #expect(throws: BrokerError.self) { try rig.ack(first, now: 1_100) }
        #expect(error?.code == .ackSuperseded)
        #expect(error?.message.contains("offset 0") == true)
        #expect(try rig.ack(second, now: 1_200).eventSummaries == ["acked m-0 a #2"])
        #expect(rig.consumer.pending.isEmpty)
    }

    @Test func onlyOverdueDeliveriesExpireOldestFirst() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(ackWait: 1_000))
        rig.attach(subscriberA)
        rig.publish()
        #expect(rig.pump(now: 0).summaries == ["1/a m-0 #1"])
        rig.publish()
        #expect(rig.pump(now: 600).summaries == ["1/a m-1 #1"])
        let firstExpiry = rig.tick(now: 1_000)
        #expect(firstExpiry.eventSummaries == ["expired m-0 a #1", "delivered m-0 a #2"])
        #expect(rig.consumer.nextDeadline == 1_600)
        #expect(rig.tick(now: 1_600).eventSummaries == ["expired m-1 a #1", "delivered m-1 a #2"])
    }

    @Test func settledDeliveriesNeverExpire() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(ackWait: 1_000))
        rig.attach(subscriberA)
        rig.publish()
        let delivery = try #require(rig.pump(now: 0).deliveries.first)
        _ = try rig.ack(delivery, now: 500)
        #expect(rig.consumer.nextDeadline == nil)
        #expect(rig.tick(now: 5_000).isEmpty)
    }

    @Test func queueRedeliveryMayGoToAnotherConsumer() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(ackWait: 1_000))
        rig.attach(subscriberA, party: langxiaTown, limit: 1)
        rig.attach(subscriberB, party: guangchenTown, limit: 1)
        rig.publish()
        #expect(rig.pump(now: 0).summaries == ["1/a m-0 #1"])
        let output = rig.tick(now: 1_000)
        #expect(output.summaries == ["2/b m-0 #2"])
        #expect(output.events.map { "\($0.kind.rawValue) \($0.party) \($0.subscriptionID)" }
                == ["expired jinshan/langxia-town a", "delivered pinghu/guangchen-town b"])
    }

    @Test func withoutMaxDeliveriesExpiryNeverDeadLetters() throws {
        var rig = ConsumerRig()
        rig.attach(subscriberA)
        rig.publish()
        _ = rig.pump(now: 0)
        for round in 1...10 {
            let output = rig.tick(now: Int64(round) * DeliveryPolicy().ackWait)
            #expect(output.summaries == ["1/a m-0 #\(round + 1)"])
            #expect(output.deadLetters.isEmpty)
        }
    }
}

@Suite("ConsumerState: NACK and max-deliveries")
struct ConsumerNackTests {
    @Test func nackWithRequeueRedeliversAtOnce() throws {
        var rig = ConsumerRig()
        rig.attach(subscriberA)
        rig.publish()
        let first = try #require(rig.pump(now: 0).deliveries.first)
        let output = try rig.nack(first, requeue: true, now: 300)
        #expect(output.summaries == ["1/a m-0 #2"])
        #expect(output.deliveries.first?.ackID != first.ackID)
        #expect(output.eventSummaries == ["nacked m-0 a #1", "delivered m-0 a #2"])
        #expect(output.events.first?.reason == "NACK")
        #expect(output.events.first?.at == 300 && output.events.first?.deliveredAt == 0)
        let again = #expect(throws: BrokerError.self) { try rig.ack(first, now: 400) }
        #expect(again?.code == .unknownAck, "the NACK settled that delivery")
    }

    @Test func nackWithoutRequeueDeadLetters() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(deadLetter: failedOrders))
        rig.attach(subscriberA, party: guangchenTown, limit: 1)
        rig.publish(2)
        let first = try #require(rig.pump(now: 0).deliveries.first)
        let output = try rig.nack(first, requeue: false, now: 400)
        #expect(output.deliveries.isEmpty)
        #expect(output.eventSummaries == ["dead-lettered m-0 a #1"])
        let deadLetter = try #require(output.deadLetters.first)
        #expect(output.deadLetters.count == 1)
        #expect(deadLetter.target == failedOrders)
        #expect(deadLetter.message.offset == 0)
        #expect(deadLetter.deliveryCount == 1)
        #expect(deadLetter.reason.contains("NACK"))
        #expect(output.events.first?.reason == deadLetter.reason)
        #expect(rig.consumer.pending.isEmpty)
        #expect(rig.pump(now: 500).summaries == ["1/a m-1 #1"], "the slot is free for the next message")
    }

    @Test func nackWithoutRequeueOnTheDeadLetterDestinationDiscardsOnTheRecord() throws {
        var rig = ConsumerRig(DeliveryPolicy.defaultDeadLetter)
        rig.attach(subscriberA)
        rig.publish()
        let first = try #require(rig.pump(now: 0).deliveries.first)
        let output = try rig.nack(first, requeue: false, now: 100)
        #expect(output.deadLetters.isEmpty, "a dead letter is not dead-lettered again")
        #expect(output.eventSummaries == ["acked m-0 a #1"])
        #expect(output.events.first?.reason?.contains("discarded") == true)
        #expect(rig.consumer.pending.isEmpty)
    }

    @Test func maxDeliveriesMovesToDeadLetter() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(ackWait: 1_000, maxDeliveries: 2, deadLetter: failedOrders))
        rig.attach(subscriberA)
        rig.publish()
        #expect(rig.pump(now: 0).summaries == ["1/a m-0 #1"])
        let second = try #require(rig.tick(now: 1_000).deliveries.first)
        #expect(second.deliveryCount == 2)
        let output = rig.tick(now: 2_000)
        #expect(output.deliveries.isEmpty)
        #expect(output.eventSummaries == ["expired m-0 a #2", "dead-lettered m-0 a #2"])
        let deadLetter = try #require(output.deadLetters.first)
        #expect(deadLetter.target == failedOrders)
        #expect(deadLetter.deliveryCount == 2)
        #expect(deadLetter.reason.contains("max-deliveries (2)"))
        #expect(rig.consumer.pending.isEmpty)
        #expect(rig.consumer.nextDeadline == nil)
        let late = #expect(throws: BrokerError.self) { try rig.ack(second, now: 2_100) }
        #expect(late?.code == .ackSuperseded)
    }

    @Test func nackWithRequeueAtMaxDeliveriesDeadLetters() throws {
        var rig = ConsumerRig(policy: DeliveryPolicy(maxDeliveries: 1))
        rig.attach(subscriberA)
        rig.publish()
        let first = try #require(rig.pump(now: 0).deliveries.first)
        let output = try rig.nack(first, requeue: true, now: 50)
        #expect(output.deliveries.isEmpty)
        #expect(output.eventSummaries == ["nacked m-0 a #1", "dead-lettered m-0 a #1"])
        #expect(output.deadLetters.map(\.target) == [DeliveryPolicy.defaultDeadLetter])
        #expect(output.deadLetters.first?.reason.contains("max-deliveries") == true)
    }

    @Test func theDeadLetterDestinationRedeliversInsteadOfLooping() throws {
        var rig = ConsumerRig(DeliveryPolicy.defaultDeadLetter, policy: DeliveryPolicy(ackWait: 1_000, maxDeliveries: 1))
        rig.attach(subscriberA)
        rig.publish()
        _ = rig.pump(now: 0)
        let output = rig.tick(now: 1_000)
        #expect(output.summaries == ["1/a m-0 #2"])
        #expect(output.deadLetters.isEmpty)
    }

    @Test func deadLetterPublicationCarriesProvenanceAndKeepsSenderAndBody() {
        let message = stored(4, to: workOrdersQueue, text: "repair the bridge", headers: ["priority": "high"], sender: guangchenTown)
        let event = LedgerEvent(kind: .deadLettered, consumer: .queue(workOrdersQueue), generation: 0, destination: workOrdersQueue, offset: 4,
                                party: langxiaTown, subscriptionID: "a", deliveryCount: 3, deliveredAt: 0, at: 0, reason: "max-deliveries (3) reached")
        let deadLetter = DeadLetter(message: message, target: failedOrders, deliveryCount: 3, reason: "max-deliveries (3) reached", event: event)
        let publication = deadLetter.publication
        #expect(publication.destination == failedOrders)
        #expect(publication.sender == guangchenTown)
        #expect(String(decoding: publication.body, as: UTF8.self) == "repair the bridge")
        #expect(publication.headers["priority"] == "high")
        #expect(publication.headers[ReservedHeader.deadLetterFrom] == "/queue/work-orders")
        #expect(publication.headers[ReservedHeader.deadLetterOffset] == "4")
        #expect(publication.headers[ReservedHeader.deadLetterDeliveries] == "3")
        #expect(publication.headers[ReservedHeader.deadLetterReason] == "max-deliveries (3) reached")
    }
}

@Suite("ConsumerState: subscribers leaving")
struct ConsumerDetachTests {
    @Test func detachReleasesInFlightToAnotherSubscriber() throws {
        var rig = ConsumerRig()
        rig.attach(subscriberA, mode: .client)
        rig.publish(2)
        #expect(rig.pump(now: 0).summaries == ["1/a m-0 #1", "1/a m-1 #1"])
        rig.attach(subscriberB)
        let output = rig.detach(subscriberA, now: 500)
        #expect(output.summaries == ["2/b m-0 #2", "2/b m-1 #2"])
        #expect(output.eventSummaries == ["released m-0 a #1", "released m-1 a #1", "delivered m-0 b #2", "delivered m-1 b #2"])
        #expect(output.events.first?.reason == "subscription ended")
        #expect(!rig.consumer.isAttached(subscriberA))
    }

    @Test func withNoSubscriberLeftReleasedMessagesWait() throws {
        var rig = ConsumerRig()
        rig.attach(subscriberA, party: langxiaTown)
        rig.publish()
        _ = rig.pump(now: 0)
        let output = rig.detach(subscriberA, now: 500)
        #expect(output.deliveries.isEmpty)
        #expect(output.eventSummaries == ["released m-0 a #1"])
        #expect(rig.consumer.pending == [
            PendingDelivery(consumer: .queue(workOrdersQueue), destination: workOrdersQueue, offset: 0, party: langxiaTown,
                            subscriptionID: "a", deliveryCount: 1, since: 500, state: .waiting),
        ])
        #expect(rig.consumer.floor == 0)
        rig.attach(subscriberB)
        #expect(rig.tick(now: 600).summaries == ["2/b m-0 #2"])
    }

    @Test func ackFromADetachedSubscriptionIsRefusedAsSuperseded() throws {
        var rig = ConsumerRig()
        rig.attach(subscriberA)
        rig.publish()
        let delivery = try #require(rig.pump(now: 0).deliveries.first)
        _ = rig.detach(subscriberA, now: 10)
        let error = #expect(throws: BrokerError.self) { try rig.ack(delivery, now: 20) }
        #expect(error?.code == .ackSuperseded)
    }

    @Test func redeliveriesGoOutBeforeNewMessages() throws {
        var rig = ConsumerRig()
        rig.attach(subscriberA, limit: 1)
        rig.publish()
        _ = rig.pump(now: 0)
        _ = rig.detach(subscriberA, now: 10)
        rig.attach(subscriberB, limit: 1)
        rig.publish()
        let output = rig.consumer.offer(rig.log.messages, scannedTo: 2, now: 20, ackIDs: &rig.ackIDs)
        #expect(output.summaries == ["2/b m-0 #2"])
        #expect(rig.consumer.readCursor == 1, "m-1 is still to be read")
        _ = try rig.ack(try #require(output.deliveries.first), now: 30)
        #expect(rig.pump(now: 40).summaries == ["2/b m-1 #1"])
    }

    @Test func detachKeepsRoundRobinOrder() {
        var rig = ConsumerRig()
        for key in [subscriberA, subscriberB, subscriberC] { rig.attach(key, mode: .auto) }
        rig.publish(2)
        #expect(rig.pump(now: 0).summaries == ["1/a m-0 #1", "2/b m-1 #1"])
        _ = rig.detach(subscriberA, now: 0)
        rig.publish(2)
        #expect(rig.pump(now: 0).summaries == ["3/c m-2 #1", "2/b m-3 #1"], "c is next in line; b must not get a second turn")
    }
}
