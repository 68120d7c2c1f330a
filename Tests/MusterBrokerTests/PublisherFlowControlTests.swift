import Synchronization
import Testing
@testable import MusterBroker
@testable import MusterProtocol

private final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// Publishers wait while fan-out to the consumers that could take messages is too far behind,
/// and only then: a subscriber that is slow (its window full, its connection backed up) holds
/// nobody back.
@Suite struct PublisherFlowControlTests {
    @Test func pausesAboveTheLimitAndResumesAtHalfOfIt() {
        var control = PublisherFlowControl(limit: 100)
        #expect(control.observe(lag: 100) == nil)
        #expect(control.observe(lag: 101) == .pause)
        #expect(control.observe(lag: 500) == nil)
        #expect(control.observe(lag: 51) == nil, "not before the lag is down to half the limit")
        #expect(control.paused)
        #expect(control.observe(lag: 50) == .resume)
        #expect(!control.paused)
        #expect(control.observe(lag: 0) == nil)
    }

    /// A queue's subscriber with room in its window; 50 messages stored before the pump ran.
    private func brokerBehind(limit: UInt64, room: Bool) throws -> (Broker, RecordingTarget) {
        let broker = Broker(store: CountingStore(), flowControl: PublisherFlowControl(limit: limit))
        let target = RecordingTarget()
        target.hasRoom = room
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: workOrdersQueue,
                             mode: .clientIndividual, prefetch: 1000)
        for _ in 0..<50 { broker.publish(publication(to: workOrdersQueue)) { _ in } }
        return (broker, target)
    }

    @Test func aPublisherWaitsWhileFanOutIsBehindAndIsResumedOnceItCaughtUp() throws {
        let (broker, target) = try brokerBehind(limit: 10, room: true)
        let resumed = Counter()
        let resume: @Sendable () -> Void = { resumed.add() }
        let pausedBeforeAnyStep = broker.pausePublisher(ifBehind: resume)
        #expect(!pausedBeforeAnyStep, "nothing measured the lag yet")
        broker.pumpStep()  // finds the consumer 50 records behind, then delivers them
        #expect(broker.publishersPaused)
        let paused = broker.pausePublisher(ifBehind: resume)
        #expect(paused)
        #expect(resumed.value == 0)
        broker.pumpStep()  // caught up: the publisher is resumed
        #expect(target.deliveries.count == 50)
        #expect(!broker.publishersPaused)
        #expect(resumed.value == 1)
    }

    @Test func aSubscriberWhoseConnectionIsBackedUpHoldsNoPublisherBack() throws {
        let (broker, _) = try brokerBehind(limit: 10, room: false)
        broker.pumpStep()
        #expect(!broker.publishersPaused)
        let paused = broker.pausePublisher(ifBehind: {})
        #expect(!paused)
    }
}
