import Synchronization
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

/// A connection stand-in that records what the broker hands it.
final class RecordingTarget: DeliveryTarget {
    private let received = Mutex<[Delivery]>([])
    private let room = Atomic<Bool>(true)
    func deliver(_ delivery: Delivery) { received.withLock { $0.append(delivery) } }
    var deliveries: [Delivery] { received.withLock { $0 } }
    var bodies: [String] { deliveries.map { String(decoding: $0.message.publication.body, as: UTF8.self) } }
    /// Whether the connection's outbound buffer has room (a test backs it up by setting false).
    var hasRoom: Bool {
        get { room.load(ordering: .relaxed) }
        set { room.store(newValue, ordering: .relaxed) }
    }
}

/// An in-memory store that counts appends and can hold completions back or fail them.
final class CountingStore: MessageStore {
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
    var events: [LedgerEvent] { inner.events }

    func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        state.withLock { $0.appended += 1 }
        if let failure { return completion(.failure(failure)) }
        if holdCompletions { return state.withLock { $0.held.append((publication, completion)) } }
        inner.append(publication, completion: completion)
    }

    func record(_ events: [LedgerEvent], completion: (@Sendable (BrokerError?) -> Void)?) { inner.record(events, completion: completion) }
    var nextOffset: UInt64 { inner.nextOffset }
    func read(_ destination: Destination, from offset: UInt64, limit: Int) throws(BrokerError) -> (messages: [StoredMessage], scannedTo: UInt64) {
        try inner.read(destination, from: offset, limit: limit)
    }
    func read(_ destination: Destination, offsets: [UInt64]) throws(BrokerError) -> [StoredMessage] {
        try inner.read(destination, offsets: offsets)
    }
    func observeAppends(_ observer: @escaping @Sendable () -> Void) { inner.observeAppends(observer) }

    /// Fails every held append, in order.
    func failHeld(with error: BrokerError) {
        let held = state.withLock { state in defer { state.held = [] }; return state.held }
        for (_, completion) in held { completion(.failure(error)) }
    }

    /// Completes every held append, in order.
    func release() {
        let held = state.withLock { state in defer { state.held = [] }; return state.held }
        for (publication, completion) in held { inner.append(publication, completion: completion) }
    }
}

/// Refuses publishing to, and subscribing to, anything named "secret".
struct SecretGate: PublishGate {
    func admit(_ publication: Publication) -> Result<Publication, PolicyRefusal> {
        guard publication.destination.name == "secret" else { return .success(publication) }
        return .failure(PolicyRefusal(BrokerError(.notAuthorized, "\(publication.sender) may not publish to \(publication.destination)"),
                                      rule: "secret", party: publication.sender, destination: publication.destination))
    }
    func checkSubscribe(_ destination: Destination, by party: PartyIdentity) -> PolicyRefusal? {
        guard destination.name == "secret" else { return nil }
        return PolicyRefusal(BrokerError(.notAuthorized, "\(party) may not subscribe to \(destination)"), rule: "secret", party: party, destination: destination)
    }
    func permitsSubscribe(_ destination: Destination, by party: PartyIdentity) -> Bool { destination.name != "secret" }
}

/// Collects publish completions.
final class Completions: Sendable {
    private let results = Mutex<[Result<StoredMessage, BrokerError>]>([])
    var handler: @Sendable (Result<StoredMessage, BrokerError>) -> Void { { result in self.results.withLock { $0.append(result) } } }
    var all: [Result<StoredMessage, BrokerError>] { results.withLock { $0 } }
}

