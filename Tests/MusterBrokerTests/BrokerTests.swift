import Synchronization
import MusterTestSupport
import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

@Suite("Broker")
struct BrokerTests {
    @Test func attachHandsOutDistinctSessionIDs() {
        let broker = Broker()
        let first = broker.attach(party: langxiaTown, target: RecordingTarget())
        let second = broker.attach(party: guangchenTown, target: RecordingTarget())
        #expect(first != second)
    }

    @Test func publishRoutesToSubscribersInStoreOrder() throws {
        let store = CountingStore()
        let broker = Broker(store: store)
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: patrolTopic, mode: .auto, prefetch: nil)
        for text in ["one", "two", "three"] {
            broker.publish(publication(to: patrolTopic, text: text)) { _ in }
        }
        #expect(target.bodies == ["one", "two", "three"])
        #expect(target.deliveries.map(\.message.offset) == [0, 1, 2])
        #expect(store.appendCount == 3)
    }

    @Test func nothingIsRoutedBeforeTheStoreCompletes() throws {
        let store = CountingStore(holdCompletions: true)
        let broker = Broker(store: store)
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: patrolTopic, mode: .auto, prefetch: nil)
        let completions = Completions()
        broker.publish(publication(to: patrolTopic, text: "one"), completion: completions.handler)
        broker.publish(publication(to: patrolTopic, text: "two"), completion: completions.handler)
        #expect(target.deliveries.isEmpty)
        #expect(completions.all.isEmpty)
        store.release()
        #expect(target.bodies == ["one", "two"])
        #expect(completions.all.count == 2)
    }

    @Test func gateRefusalNeverReachesTheStoreOrSubscribers() throws {
        let store = CountingStore()
        let broker = Broker(store: store, gate: SecretGate())
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .auto, prefetch: nil)
        let completions = Completions()
        broker.publish(publication(to: Destination(kind: .queue, name: "secret")), completion: completions.handler)
        #expect(store.appendCount == 0)
        #expect(target.deliveries.isEmpty)
        #expect(broker.inspect { $0.consumers[.queue(Destination(kind: .queue, name: "secret"))] == nil })
        broker.pumpStep()
        #expect(target.deliveries.isEmpty)
        guard case .failure(let error) = try #require(completions.all.first) else {
            Issue.record("a refused publication must not complete successfully")
            return
        }
        #expect(error.code == .notAuthorized)
        #expect(completions.all.count == 1)
    }

    @Test func receiptCompletionIsCalledOnceWithTheStoredMessage() throws {
        let broker = Broker(store: CountingStore())
        let completions = Completions()
        broker.publish(publication(to: workOrdersQueue, text: "x"), completion: completions.handler)
        broker.publish(publication(to: workOrdersQueue, text: "y"), completion: completions.handler)
        #expect(completions.all.count == 2)
        let offsets = try completions.all.map { try $0.get().offset }
        #expect(offsets == [0, 1])
        // Nobody subscribed: the messages wait in the store, where the queue's consumer will read them.
        #expect(broker.inspect { $0.consumers[.queue(workOrdersQueue)]?.readCursor } == 0)
    }

    @Test func storeFailureIsReportedAndNothingIsRouted() throws {
        let broker = Broker(store: CountingStore(failure: BrokerError(.storageFailure, "disk full")))
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: patrolTopic, mode: .auto, prefetch: nil)
        let completions = Completions()
        broker.publish(publication(to: patrolTopic), completion: completions.handler)
        #expect(completions.all.count == 1)
        #expect(throws: BrokerError(.storageFailure, "disk full")) { try completions.all[0].get() }
        #expect(target.deliveries.isEmpty)
    }

    @Test func gateRefusedSubscriptionIsNotCreated() {
        let broker = Broker(gate: SecretGate())
        let session = broker.attach(party: guangchenTown, target: RecordingTarget())
        let error = #expect(throws: BrokerError.self) {
            try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s",
                                 destination: Destination(kind: .topic, name: "secret"), mode: .auto, prefetch: nil)
        }
        #expect(error?.code == .notAuthorized)
        #expect(broker.inspect { $0.sessions[session]?.subscriptions.isEmpty } == true)
    }

    @Test func queueMessagesAreDeliveredWhenThePumpReadsThemFromTheStore() throws {
        let store = CountingStore()
        let broker = Broker(store: store, clock: { 5_000 })
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .client, prefetch: nil)
        for text in ["one", "two"] { broker.publish(publication(to: workOrdersQueue, text: text)) { _ in } }
        #expect(target.deliveries.isEmpty, "queues are not pushed")
        #expect(broker.pumpStep().progressed)
        #expect(target.bodies == ["one", "two"])
        #expect(store.events.map(\.summary) == ["delivered m-0 s #1", "delivered m-1 s #1"])
        #expect(store.events.allSatisfy { $0.party == guangchenTown && $0.deliveredAt == 5_000 })
        #expect(!broker.pumpStep().progressed)
        #expect(target.deliveries.count == 2)
    }

    @Test func ackThroughTheBrokerReleasesTheNextQueuedMessage() throws {
        let store = CountingStore()
        let broker = Broker(store: store)
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .client, prefetch: 1)
        for text in ["one", "two"] { broker.publish(publication(to: workOrdersQueue, text: text)) { _ in } }
        broker.pumpStep()
        #expect(target.bodies == ["one"])
        broker.pumpStep()
        #expect(target.bodies == ["one"], "prefetch 1: nothing more until the ACK")
        try broker.acknowledge(sessionID: session, ackID: String(try #require(target.deliveries.first?.ackID)))
        broker.pumpStep()
        #expect(target.bodies == ["one", "two"])
        #expect(store.events.map(\.summary) == ["delivered m-0 s #1", "acked m-0 s #1", "delivered m-1 s #1"])
    }

    @Test func pumpRedeliversOnceTheAckWaitRunsOutOnTheBrokersClock() throws {
        let clock = ManualClock(10_000)
        let store = CountingStore()
        let broker = Broker(store: store, rules: DeliveryRules(fallback: DeliveryPolicy(ackWait: 1_000)), clock: clock.reading)
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .clientIndividual, prefetch: nil)
        broker.publish(publication(to: workOrdersQueue, text: "job")) { _ in }
        #expect(broker.pumpStep().nextDeadline == 11_000)
        clock.advance(by: 999)
        broker.pumpStep()
        #expect(target.deliveries.map(\.summary) == ["\(session)/s m-0 #1"])
        clock.advance(by: 1)
        #expect(broker.pumpStep().nextDeadline == 12_000)
        #expect(target.deliveries.map(\.summary) == ["\(session)/s m-0 #1", "\(session)/s m-0 #2"])
        #expect(store.events.map(\.summary) == ["delivered m-0 s #1", "expired m-0 s #1", "delivered m-0 s #2"])
        let first = try #require(target.deliveries.first)
        let late = #expect(throws: BrokerError.self) {
            try broker.acknowledge(sessionID: session, ackID: String(first.ackID ?? 0))
        }
        #expect(late?.code == .ackSuperseded)
    }

    @Test func backedUpConnectionIsNotReadForUntilItDrains() throws {
        let broker = Broker(store: CountingStore())
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .client, prefetch: nil)
        broker.publish(publication(to: workOrdersQueue, text: "job")) { _ in }
        target.hasRoom = false
        #expect(!broker.pumpStep().progressed)
        #expect(target.deliveries.isEmpty)
        target.hasRoom = true
        #expect(broker.pumpStep().progressed)
        #expect(target.bodies == ["job"])
    }

    @Test func nackWithoutRequeueStoresTheMessageOnTheDeadLetterDestination() throws {
        let failed = Destination(kind: .queue, name: "work-orders.failed")
        let store = CountingStore(holdCompletions: true)
        let broker = Broker(store: store, rules: DeliveryRules(fallback: DeliveryPolicy(deadLetter: failed)), clock: { 1_000 })
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .clientIndividual, prefetch: nil)
        broker.publish(publication(to: workOrdersQueue, text: "job", headers: ["priority": "high"])) { _ in }
        store.release()
        broker.pumpStep()
        let delivery = try #require(target.deliveries.first)
        try broker.reject(sessionID: session, ackID: String(delivery.ackID ?? 0), requeue: false)
        store.release()
        let deadLetters = try store.read(failed, from: 0, limit: 10).messages
        #expect(deadLetters.map(\.offset) == [1])
        let moved = try #require(deadLetters.first)
        #expect(moved.publication.sender == langxiaTown)
        #expect(String(decoding: moved.publication.body, as: UTF8.self) == "job")
        #expect(moved.publication.headers["priority"] == "high")
        #expect(moved.publication.headers[ReservedHeader.deadLetterFrom] == "/queue/work-orders")
        #expect(moved.publication.headers[ReservedHeader.deadLetterOffset] == "0")
        #expect(moved.publication.headers[ReservedHeader.deadLetterDeliveries] == "1")
        #expect(moved.publication.headers[ReservedHeader.deadLetterReason]?.contains("NACK") == true)
        #expect(store.events.map(\.summary) == ["delivered m-0 s #1", "dead-lettered m-0 s #1"])
    }

    @Test
    func nackWithoutRequeueWorksWithTheInMemoryStore() throws {
        let store = InMemoryMessageStore(clock: { 1_000 })
        let broker = Broker(store: store, clock: { 1_000 })
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .clientIndividual, prefetch: nil)
        broker.publish(publication(to: workOrdersQueue, text: "job")) { _ in }
        broker.pumpStep()
        let delivery = try #require(target.deliveries.first)
        try broker.reject(sessionID: session, ackID: String(delivery.ackID ?? 0), requeue: false)
        #expect(try store.read(DeliveryPolicy.defaultDeadLetter, from: 0, limit: 10).messages.map(\.offset) == [1])
    }

    @Test func wakingTheConsumersAMillionTimesCostsNoStack() throws {
        // Each ACK may wake the pump; a callback that grew with every call once overflowed the stack.
        let broker = Broker()
        let session = broker.attach(party: guangchenTown, target: RecordingTarget())
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .client, prefetch: 1)
        broker.publish(publication(to: workOrdersQueue, text: "job")) { _ in }
        let wakes = Mutex(0)
        broker.onWork { wakes.withLock { $0 += 1 } }
        for _ in 0..<1_000_000 { broker.wakeConsumers() }
        #expect(wakes.withLock { $0 } == 1_000_000)
    }

    @Test func thePumpIsWokenOnlyWhenAConsumerCanTakeAMessageItHasNotRead() throws {
        let broker = Broker()
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        let wakes = Mutex(0)
        broker.onWork { wakes.withLock { $0 += 1 } }
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .clientIndividual, prefetch: 1)
        #expect(wakes.withLock { $0 } == 0, "an empty queue: nothing to read")
        for text in ["one", "two"] { broker.publish(publication(to: workOrdersQueue, text: text)) { _ in } }
        broker.wakeConsumers()
        #expect(wakes.withLock { $0 } == 1, "two unread messages and room for one")
        broker.pumpStep()
        broker.wakeConsumers()
        #expect(wakes.withLock { $0 } == 1, "prefetch 1 is used up: waking the pump would find nothing to do")
        try broker.acknowledge(sessionID: session, ackID: String(try #require(target.deliveries.first?.ackID)))
        #expect(wakes.withLock { $0 } == 2, "the ACK made room for the unread second message")
        broker.pumpStep()
        try broker.acknowledge(sessionID: session, ackID: String(try #require(target.deliveries.last?.ackID)))
        #expect(target.bodies == ["one", "two"])
        #expect(wakes.withLock { $0 } == 2, "everything is read: the last ACK wakes nobody")
    }

    @Test func detachHandsUnackedQueueMessagesToAnotherSession() throws {
        let broker = Broker()
        let leaving = RecordingTarget(), staying = RecordingTarget()
        let first = broker.attach(party: langxiaTown, target: leaving)
        try broker.subscribe(sessionID: first, party: langxiaTown, subscriptionID: "s", destination: workOrdersQueue, mode: .client, prefetch: nil)
        broker.publish(publication(to: workOrdersQueue, text: "job")) { _ in }
        broker.pumpStep()
        let second = broker.attach(party: guangchenTown, target: staying)
        try broker.subscribe(sessionID: second, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .auto, prefetch: nil)
        broker.pumpStep()
        #expect(staying.deliveries.isEmpty)
        broker.detach(sessionID: first)
        #expect(staying.deliveries.map(\.summary) == ["\(second)/s m-0 #2"])
        #expect(leaving.deliveries.count == 1)
    }

    @Test func acknowledgingTopicSubscribersShareOneEncodingOfEachMessagesHeaders() throws {
        let broker = Broker(store: CountingStore(), clock: { 5_000 })
        let targets = [RecordingTarget(), RecordingTarget(), RecordingTarget()]
        for (index, target) in targets.enumerated() {
            let session = broker.attach(party: guangchenTown, target: target)
            try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s\(index)", destination: patrolTopic,
                                 mode: .clientIndividual, prefetch: 10)
        }
        for text in ["one", "two"] { broker.publish(publication(to: patrolTopic, text: text, headers: ["note": "a:b"])) { _ in } }
        #expect(broker.pumpStep().progressed)
        for offset in 0..<2 {
            let deliveries = targets.map { $0.deliveries[offset] }
            let shared = deliveries[0].message.sharedHeaders
            #expect(deliveries.allSatisfy { $0.message.sharedHeaders === shared }, "encoded once for every subscriber")
            let fresh = StoredMessage(offset: deliveries[0].message.offset, timestamp: deliveries[0].message.timestamp,
                                      publication: deliveries[0].message.publication)
            #expect(shared.bytes == SharedMessageHeaders(fresh).bytes)
            for delivery in deliveries {
                #expect(delivery.encodedFrame() == StompFrameEncoder.encode(delivery.frame, version: .v1_2),
                        "the same bytes as the frame encoded whole")
            }
        }
    }

    @Test func acksReadInARowAreSettledTogetherUpToTheFirstThatFails() throws {
        let store = CountingStore()
        let broker = Broker(store: store, clock: { 5_000 })
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue,
                             mode: .clientIndividual, prefetch: 4)
        for text in ["one", "two", "three", "four"] { broker.publish(publication(to: workOrdersQueue, text: text)) { _ in } }
        broker.pumpStep()
        let ids = target.deliveries.map(\.ackHeader)
        #expect(ids.count == 4)
        #expect(broker.acknowledge(sessionID: session, ackIDs: [ids[1], ids[0]]) == nil)
        let failure = broker.acknowledge(sessionID: session, ackIDs: [ids[2], "999", ids[3]])
        #expect(failure?.code == .unknownAck)
        #expect(store.events.map(\.summary).filter { $0.hasPrefix("acked") } == ["acked m-1 s #1", "acked m-0 s #1", "acked m-2 s #1"],
                "in the order sent, and none after the one that failed")
        #expect(broker.inspect { $0.pending().map(\.offset) } == [3])
    }
}
