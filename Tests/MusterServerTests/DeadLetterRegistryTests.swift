import Foundation
import MusterBroker
import MusterTestSupport
@testable import MusterServer
import Synchronization
import Testing
@testable import MusterProtocol

/// A store whose dead-letter destination refuses every append (a full disk, say).
private final class RefusingDeadLetters: MessageStore {
    let inner = InMemoryMessageStore()
    func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        guard publication.destination != DeliveryPolicy.defaultDeadLetter else {
            return completion(.failure(BrokerError(.storageFailure, "no space left on the device")))
        }
        inner.append(publication, completion: completion)
    }
    func record(_ events: [LedgerEvent], completion: (@Sendable (BrokerError?) -> Void)?) { inner.record(events, completion: completion) }
    var nextOffset: UInt64 { inner.nextOffset }
    func read(_ destination: Destination, from offset: UInt64, limit: Int) throws(BrokerError) -> (messages: [StoredMessage], scannedTo: UInt64) {
        try inner.read(destination, from: offset, limit: limit)
    }
    func read(_ destination: Destination, offsets: [UInt64]) throws(BrokerError) -> [StoredMessage] { try inner.read(destination, offsets: offsets) }
    func observeAppends(_ observer: @escaping @Sendable () -> Void) { inner.observeAppends(observer) }
}

/// A message the consumer gave up on stays unsettled in the consumer registry until its
/// `dead-lettered` event is recorded: if its dead-letter copy could not be stored, a restart
/// delivers it again rather than lose it.
@Suite struct DeadLetterRegistryTests {
    @Test func aDeadLetterWhoseCopyWasNotStoredStaysUnsettledInTheRegistry() throws {
        let party = PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")
        let queue = Destination(kind: .queue, name: "work-orders")
        let rules = DeliveryRules(fallback: DeliveryPolicy(maxDeliveries: 1))
        let broker = Broker(store: RefusingDeadLetters(), rules: rules)
        let target = CollectingTarget()
        let session = broker.attach(party: party, target: target)
        try broker.subscribe(sessionID: session, party: party, subscriptionID: "s", destination: queue, mode: .clientIndividual, prefetch: 10)
        broker.publish(Publication(destination: queue, headers: [:], body: Array("job".utf8), sender: party)) { _ in }
        broker.pumpStep()
        let delivery = try #require(target.deliveries.first)
        try broker.reject(sessionID: session, ackID: String(delivery.ackID!), requeue: true)  // its one delivery is spent: dead-lettered
        let contents = broker.inspect { ConsumerRegistry.contents(of: $0, deadLetters: broker.unrecordedDeadLetters) }
        let entry = try #require(contents.consumers.first { $0.destination == queue.description })
        #expect(broker.inspect { $0.consumers[.queue(queue)]!.unsettledDeliveries.isEmpty }, "the consumer let go of it")
        #expect(entry.unsettled?.map(\.offset) == [delivery.message.offset], "but the registry keeps it unsettled")
        #expect(entry.floor <= delivery.message.offset)
    }
}
