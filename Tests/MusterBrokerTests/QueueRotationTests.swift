import Synchronization
import Testing
@testable import MusterBroker
import MusterStomp

/// A core with sessions 1 (langxia-town) and 2 (guangchen-town) attached.
private func coreWithTwoSessions() -> BrokerCore {
    var core = BrokerCore()
    core.attach(sessionID: 1, party: langxiaTown)
    core.attach(sessionID: 2, party: guangchenTown)
    return core
}

@Test func detachNeverHandsMessagesBackToTheDetachingSession() throws {
    var core = coreWithTwoSessions()
    var log = TestLog()
    _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .client)
    _ = try core.subscribe(1, "b", to: workOrdersQueue, mode: .auto)
    _ = try core.subscribe(2, "c", to: workOrdersQueue, mode: .auto)
    for _ in 0..<3 { _ = core.publish(to: workOrdersQueue, in: &log) }
    #expect(core.pump(log).summaries == ["1/a m-0 #1", "1/b m-1 #1", "2/c m-2 #1"])
    // m-0 was never acknowledged: it must go to session 2, the only one left.
    let redelivered = core.detach(sessionID: 1, now: 0)
    #expect(redelivered.summaries == ["2/c m-0 #2"])
    #expect(!redelivered.eventSummaries.contains("consumed m-0 b #2"), "consumed by a connection that is closing: lost")
}

@Test func detachDoesNotInflateDeliveryCountThroughASiblingSubscription() throws {
    var core = coreWithTwoSessions()
    var log = TestLog()
    _ = try core.subscribe(1, "a", to: workOrdersQueue, mode: .client)
    _ = try core.subscribe(1, "b", to: workOrdersQueue, mode: .client)
    _ = try core.subscribe(2, "c", to: workOrdersQueue, mode: .client)
    for _ in 0..<3 { _ = core.publish(to: workOrdersQueue, in: &log) }
    #expect(core.pump(log).summaries == ["1/a m-0 #1", "1/b m-1 #1", "2/c m-2 #1"])
    let redelivered = core.detach(sessionID: 1, now: 0)
    #expect(redelivered.summaries == ["2/c m-0 #2", "2/c m-1 #2"])
}

@Test func removingAConsumerKeepsRoundRobinOrder() throws {
    var core = BrokerCore()
    var log = TestLog()
    for id: UInt64 in 1...3 { core.attach(sessionID: id, party: guangchenTown) }
    for id: UInt64 in 1...3 { _ = try core.subscribe(id, "s", to: workOrdersQueue) }
    for _ in 0..<2 { _ = core.publish(to: workOrdersQueue, in: &log) }
    #expect(core.pump(log).summaries == ["1/s m-0 #1", "2/s m-1 #1"])
    _ = try core.unsubscribe(1, "s")
    for _ in 0..<2 { _ = core.publish(to: workOrdersQueue, in: &log) }
    // Session 3 is next in line; removing session 1 must not hand session 2 a second turn.
    #expect(core.pump(log).summaries == ["3/s m-2 #1", "2/s m-3 #1"])
}

private final class Sink: DeliveryTarget {
    let got = Mutex<[String]>([])
    func deliver(_ delivery: Delivery) { got.withLock { $0.append(delivery.summary) } }
    var hasRoom: Bool { true }
}

@Test func brokerDetachHandsAnUnackedQueueMessageToTheRemainingConsumer() throws {
    let broker = Broker(store: InMemoryMessageStore(clock: { 1_000 }), clock: { 1_000 })
    let leaving = Sink(), staying = Sink()
    let one = broker.attach(party: langxiaTown, target: leaving)
    try broker.subscribe(sessionID: one, party: langxiaTown, subscriptionID: "a", destination: workOrdersQueue, mode: .client, prefetch: nil)
    try broker.subscribe(sessionID: one, party: langxiaTown, subscriptionID: "b", destination: workOrdersQueue, mode: .auto, prefetch: nil)
    let two = broker.attach(party: guangchenTown, target: staying)
    try broker.subscribe(sessionID: two, party: guangchenTown, subscriptionID: "c", destination: workOrdersQueue, mode: .auto, prefetch: nil)
    for _ in 0..<3 { broker.publish(Publication(destination: workOrdersQueue, headers: [:], body: [], sender: langxiaTown)) { _ in } }
    broker.pumpStep()
    #expect(leaving.got.withLock { $0 } == ["1/a m-0 #1", "1/b m-1 #1"])
    broker.detach(sessionID: one)
    #expect(staying.got.withLock { $0 } == ["2/c m-2 #1", "2/c m-0 #2"])
}
