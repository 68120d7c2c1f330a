import Testing
@testable import MusterBroker
import MusterStomp

private func stored(_ offset: UInt64) -> StoredMessage {
    StoredMessage(offset: offset, timestamp: 0, publication: Publication(destination: workOrdersQueue, headers: [:], body: [], sender: langxiaTown))
}
private func summary(_ d: Delivery) -> String { "\(d.sessionID)/\(d.subscriptionID) \(d.message.messageID) #\(d.deliveryCount)" }

@Test func detachNeverHandsMessagesBackToTheDetachingSession() throws {
    var core = BrokerCore()
    core.attach(sessionID: 1, party: langxiaTown)
    core.attach(sessionID: 2, party: guangchenTown)
    _ = try core.subscribe(sessionID: 1, subscriptionID: "a", destination: workOrdersQueue, mode: .client, prefetch: nil)
    _ = try core.subscribe(sessionID: 1, subscriptionID: "b", destination: workOrdersQueue, mode: .auto, prefetch: nil)
    _ = try core.subscribe(sessionID: 2, subscriptionID: "c", destination: workOrdersQueue, mode: .auto, prefetch: nil)
    let first = (0..<3).flatMap { core.route(stored($0)) }
    #expect(first.map(summary) == ["1/a m-0 #1", "1/b m-1 #1", "2/c m-2 #1"])
    // m-0 was never acknowledged: it must go to session 2, the only one left.
    let redelivered = core.detach(sessionID: 1)
    #expect(redelivered.map(summary) == ["2/c m-0 #2"])
}

@Test func detachDoesNotInflateDeliveryCountThroughASiblingSubscription() throws {
    var core = BrokerCore()
    core.attach(sessionID: 1, party: langxiaTown)
    core.attach(sessionID: 2, party: guangchenTown)
    _ = try core.subscribe(sessionID: 1, subscriptionID: "a", destination: workOrdersQueue, mode: .client, prefetch: nil)
    _ = try core.subscribe(sessionID: 1, subscriptionID: "b", destination: workOrdersQueue, mode: .client, prefetch: nil)
    _ = try core.subscribe(sessionID: 2, subscriptionID: "c", destination: workOrdersQueue, mode: .client, prefetch: nil)
    _ = (0..<3).flatMap { core.route(stored($0)) }
    let redelivered = core.detach(sessionID: 1)
    #expect(redelivered.map(summary) == ["2/c m-0 #2", "2/c m-1 #2"])
}

@Test func removingAConsumerKeepsRoundRobinOrder() throws {
    var core = BrokerCore()
    for id: UInt64 in 1...3 { core.attach(sessionID: id, party: guangchenTown) }
    for id: UInt64 in 1...3 { _ = try core.subscribe(sessionID: id, subscriptionID: "s", destination: workOrdersQueue, mode: .auto, prefetch: nil) }
    #expect((0..<2).flatMap { core.route(stored($0)) }.map(summary) == ["1/s m-0 #1", "2/s m-1 #1"])
    _ = try core.unsubscribe(sessionID: 1, subscriptionID: "s")
    // Session 3 is next in line; removing session 1 must not hand session 2 a second turn.
    #expect((2..<4).flatMap { core.route(stored($0)) }.map(summary) == ["3/s m-2 #1", "2/s m-3 #1"])
}

import Synchronization
private final class Sink: DeliveryTarget {
    let got = Mutex<[String]>([])
    func deliver(_ delivery: Delivery) { got.withLock { $0.append(summary(delivery)) } }
}

@Test func brokerDetachHandsAnUnackedQueueMessageToTheRemainingConsumer() throws {
    let broker = Broker()
    let leaving = Sink(), staying = Sink()
    let one = broker.attach(party: langxiaTown, target: leaving)
    try broker.subscribe(sessionID: one, party: langxiaTown, subscriptionID: "a", destination: workOrdersQueue, mode: .client, prefetch: nil)
    try broker.subscribe(sessionID: one, party: langxiaTown, subscriptionID: "b", destination: workOrdersQueue, mode: .auto, prefetch: nil)
    let two = broker.attach(party: guangchenTown, target: staying)
    try broker.subscribe(sessionID: two, party: guangchenTown, subscriptionID: "c", destination: workOrdersQueue, mode: .auto, prefetch: nil)
    for _ in 0..<3 { broker.publish(Publication(destination: workOrdersQueue, headers: [:], body: [], sender: langxiaTown)) { _ in } }
    #expect(leaving.got.withLock { $0 } == ["1/a m-0 #1", "1/b m-1 #1"])
    broker.detach(sessionID: one)
    #expect(staying.got.withLock { $0 } == ["2/c m-2 #1", "2/c m-0 #2"])
}
