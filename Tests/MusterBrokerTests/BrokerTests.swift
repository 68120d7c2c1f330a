import Synchronization
import Testing
@testable import MusterBroker
import MusterStomp

/// A connection stand-in that records what the broker hands it.
private final class RecordingTarget: DeliveryTarget {
    private let received = Mutex<[Delivery]>([])
    func deliver(_ delivery: Delivery) { received.withLock { $0.append(delivery) } }
    var deliveries: [Delivery] { received.withLock { $0 } }
    var bodies: [String] { deliveries.map { String(decoding: $0.message.publication.body, as: UTF8.self) } }
}

/// An in-memory store that counts appends and can hold completions back or fail them.
private final class CountingStore: MessageStore {
    private struct State {
        var appended = 0
        var held: [(Publication, @Sendable (Result<StoredMessage, BrokerError>) -> Void)] = []
    }
    private let state = Mutex(State())
    private let inner = InMemoryMessageStore(clock: { 1_000 })
    let holdCompletions: Bool
    let failure: BrokerError?

    init(holdCompletions: Bool = false, failure: BrokerError? = nil) {
        self.holdCompletions = holdCompletions
        self.failure = failure
    }

    var appendCount: Int { state.withLock { $0.appended } }

    func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        state.withLock { $0.appended += 1 }
        if let failure { return completion(.failure(failure)) }
        if holdCompletions { return state.withLock { $0.held.append((publication, completion)) } }
        inner.append(publication, completion: completion)
    }

    /// Completes every held append, in order.
    func release() {
        let held = state.withLock { state in defer { state.held = [] }; return state.held }
        for (publication, completion) in held { inner.append(publication, completion: completion) }
    }
}

/// Refuses publishing to, and subscribing to, anything named "secret".
private struct SecretGate: PublishGate {
    func check(_ publication: Publication) -> BrokerError? {
        publication.destination.name == "secret" ? BrokerError(.notAuthorized, "\(publication.sender) may not publish to \(publication.destination)") : nil
    }
    func checkSubscribe(_ destination: Destination, by party: PartyIdentity) -> BrokerError? {
        destination.name == "secret" ? BrokerError(.notAuthorized, "\(party) may not subscribe to \(destination)") : nil
    }
}

/// Collects publish completions.
private final class Completions: Sendable {
    private let results = Mutex<[Result<StoredMessage, BrokerError>]>([])
    var handler: @Sendable (Result<StoredMessage, BrokerError>) -> Void { { result in self.results.withLock { $0.append(result) } } }
    var all: [Result<StoredMessage, BrokerError>] { results.withLock { $0 } }
}

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
        #expect(broker.inspect { $0.backlog(of: Destination(kind: .queue, name: "secret")) } == 0)
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
        #expect(broker.inspect { $0.backlog(of: workOrdersQueue) } == 2)
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

    @Test func ackThroughTheBrokerReleasesTheNextQueuedMessage() throws {
        let broker = Broker()
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .client, prefetch: 1)
        for text in ["one", "two"] { broker.publish(publication(to: workOrdersQueue, text: text)) { _ in } }
        #expect(target.bodies == ["one"])
        try broker.acknowledge(sessionID: session, ackID: String(try #require(target.deliveries[0].ackID)))
        #expect(target.bodies == ["one", "two"])
    }

    @Test func detachHandsUnackedQueueMessagesToAnotherSession() throws {
        let broker = Broker()
        let leaving = RecordingTarget(), staying = RecordingTarget()
        let first = broker.attach(party: langxiaTown, target: leaving)
        try broker.subscribe(sessionID: first, party: langxiaTown, subscriptionID: "s", destination: workOrdersQueue, mode: .client, prefetch: nil)
        broker.publish(publication(to: workOrdersQueue, text: "job")) { _ in }
        let second = broker.attach(party: guangchenTown, target: staying)
        try broker.subscribe(sessionID: second, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue, mode: .auto, prefetch: nil)
        #expect(staying.deliveries.isEmpty)
        broker.detach(sessionID: first)
        #expect(staying.deliveries.map(\.summary) == ["\(second)/s m-0 #2"])
        #expect(leaving.deliveries.count == 1)
    }
}
