import Foundation
import Glibc
import Logging
import MusterBroker
import MusterLog
import MusterTestSupport
@testable import MusterServer
import Synchronization
import Testing
@testable import MusterProtocol

/// A connection stand-in that notes which thread handed it each delivery.
private final class ThreadNotingTarget: DeliveryTarget {
    private let received = Mutex<[(offset: UInt64, thread: pthread_t)]>([])
    func deliver(_ delivery: Delivery) { received.withLock { $0.append((delivery.message.offset, pthread_self())) } }
    var deliveries: [(offset: UInt64, thread: pthread_t)] { received.withLock { $0 } }
    var hasRoom: Bool { true }
}

/// An event loop that commits a lone SEND itself (the log's writer was idle) also feeds the
/// queue's consumers itself, instead of waking the consumer pump thread to do it.
@Suite struct InlineFeedTests {
    @Test func aLoneMessageCommittedOnTheCallingThreadIsDeliveredFromIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-feed-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory))
        defer { log.close() }
        let broker = Broker(store: LogMessageStore(log: log))
        let pump = ConsumerPump(broker: broker, registry: ConsumerRegistry(dataDirectory: directory), logger: Logger(label: "test"))
        pump.start()
        defer { pump.stop() }
        let target = ThreadNotingTarget()
        let party = PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")
        let session = broker.attach(party: party, target: target)
        let queue = Destination(kind: .queue, name: "work-orders")
        try broker.subscribe(sessionID: session, party: party, subscriptionID: "s", destination: queue, mode: .auto, prefetch: nil)
        // The log's writer thread may be busy at any moment (it then commits, and the pump feeds:
        // correct, but not what this test looks for), so a few attempts are allowed.
        var fedHere = false
        for attempt in 0..<20 where !fedHere {
            let stored = Mutex<UInt64?>(nil)
            let caller = pthread_self()  // the thread that publishes and commits (the test may move between attempts)
            broker.publish(Publication(destination: queue, headers: [:], body: Array("job \(attempt)".utf8), sender: party), deferCommit: true) {
                if case .success(let message) = $0 { stored.withLock { $0 = message.offset } }
            }
            pump.commitAndFeed()
            if let offset = stored.withLock({ $0 }), let delivery = target.deliveries.last, delivery.offset == offset {
                fedHere = pthread_equal(delivery.thread, caller) != 0
            } else {
                try await eventually("attempt \(attempt)'s message delivered by the pump") { target.deliveries.count >= attempt + 1 }
            }
        }
        #expect(fedHere, "the message was stored and delivered before commitAndFeed returned, on the calling thread")
        #expect(Set(target.deliveries.map(\.offset)).count == target.deliveries.count, "no message was delivered twice")
    }
}
