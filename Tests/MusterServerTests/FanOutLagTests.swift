import Foundation
import MusterBroker
import MusterLog
import MusterTestSupport
@testable import MusterServer
import Synchronization
import Testing
@testable import MusterProtocol

/// Fan-out lag counts messages to deliver, not the delivery records the log gains as consumers
/// take and acknowledge them: once every message is delivered, publishers read again, however
/// many delivery records follow the last message (counting them held a paused publisher back
/// for ever).
@Suite struct FanOutLagTests {
    @Test func deliveryRecordsAfterTheLastMessageHoldNoPublisherBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-lag-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory))
        defer { log.close() }
        let store = LogMessageStore(log: log)
        let broker = Broker(store: store, flowControl: PublisherFlowControl(limit: 0))
        let party = PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")
        let queue = Destination(kind: .queue, name: "work-orders")
        let target = CollectingTarget()
        let session = broker.attach(party: party, target: target)
        try broker.subscribe(sessionID: session, party: party, subscriptionID: "s", destination: queue, mode: .clientIndividual, prefetch: 100)
        let published = DispatchGroup()
        for index in 0..<10 {
            published.enter()
            broker.publish(Publication(destination: queue, headers: [:], body: Array("job \(index)".utf8), sender: party)) { _ in published.leave() }
        }
        published.wait()
        try eventuallyBlocking("ten deliveries") {
            broker.pumpStep()
            return target.deliveries.count == 10
        }
        for delivery in target.deliveries {
            let acknowledged = DispatchSemaphore(value: 0)
            try broker.acknowledge(sessionID: session, ackID: String(delivery.ackID!)) { _ in acknowledged.signal() }
            acknowledged.wait()
        }
        store.waitUntilDurable()
        let lastMessage = target.deliveries.map(\.message.offset).max()!
        #expect(log.nextOffset > lastMessage + 1, "delivery records follow the last message")
        broker.pumpStep()
        #expect(!broker.publishersPaused)
        let paused = broker.pausePublisher(ifBehind: {})
        #expect(!paused)
    }
}
