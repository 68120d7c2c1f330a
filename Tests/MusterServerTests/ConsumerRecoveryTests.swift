import Foundation
import Logging
import MusterBroker
import MusterLog
import MusterTestSupport
@testable import MusterServer
import Synchronization
import Testing
@testable import MusterProtocol

/// Start-up rebuilds the queues from the consumer registry (as it stood when written) and the
/// log after it: a queue with a long backlog costs no reading of the backlog, and the state
/// is the one a reading of the log from the lowest floor (the version 1 registry) gives.
@Suite struct ConsumerRecoveryTests {
    static let party = PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")
    static let queue = Destination(kind: .queue, name: "work-orders")

    /// A queue of `backlog` messages; a client-individual subscriber took 10 and acknowledged the
    /// first 4; the broker stopped (writing the registry). Returns the offsets delivered.
    private func brokerRanAndStopped(in directory: String, backlog: Int) throws -> [UInt64] {
        let log = try MessageLog.open(LogOptions(dataDirectory: directory))
        defer { log.close() }
        let broker = Broker(store: LogMessageStore(log: log))
        let pump = ConsumerPump(broker: broker, registry: ConsumerRegistry(dataDirectory: directory), logger: Logger(label: "test"))
        pump.start()
        let target = CollectingTarget()
        let session = broker.attach(party: Self.party, target: target)
        let published = DispatchGroup()
        for index in 0..<backlog {
            published.enter()
            broker.publish(Publication(destination: Self.queue, headers: [:], body: Array("job \(index)".utf8), sender: Self.party)) { _ in
                published.leave()
            }
        }
        published.wait()
        try broker.subscribe(sessionID: session, party: Self.party, subscriptionID: "s", destination: Self.queue, mode: .clientIndividual, prefetch: 10)
        try eventuallyBlocking("ten deliveries") { target.deliveries.count == 10 }
        for delivery in target.deliveries.prefix(4) {
            let acknowledged = DispatchSemaphore(value: 0)
            try broker.acknowledge(sessionID: session, ackID: String(delivery.ackID!)) { _ in acknowledged.signal() }
            acknowledged.wait()
        }
        pump.stop()  // writes the registry
        return target.deliveries.map(\.message.offset)
    }

    private func recovered(_ contents: ConsumerRegistry.Contents, directory: String) throws -> (state: ConsumerState, read: Int) {
        let log = try MessageLog.open(LogOptions(dataDirectory: directory))
        defer { log.close() }
        let recovery = try ConsumerRecovery(registry: contents, log: log, rules: DeliveryRules())
        let restored = try #require(recovery.consumers.first { $0.state.destination == Self.queue })
        return (restored.state, recovery.recordsRead)
    }

    @Test func aQueueIsRebuiltFromTheRegistryWithoutReadingItsBacklog() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-recovery-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let delivered = try brokerRanAndStopped(in: directory, backlog: 2000)
        let contents = try ConsumerRegistry(dataDirectory: directory).load()
        #expect(contents.version == 2)
        let entry = try #require(contents.consumers.first { $0.destination == Self.queue.description })
        #expect(entry.next == delivered.last! + 1)
        #expect(entry.unsettled?.map(\.offset) == Array(delivered.dropFirst(4)))

        let fromRegistry = try recovered(contents, directory: directory)
        // Only what came after the registry was written: the backlog's 2,000 messages are not read.
        #expect(fromRegistry.read < 50, "read \(fromRegistry.read) records")
        #expect(fromRegistry.state.readCursor == delivered.last! + 1)
        #expect(fromRegistry.state.unsettledDeliveries.map(\.offset) == Array(delivered.dropFirst(4)))
        #expect(fromRegistry.state.unsettledDeliveries.allSatisfy { $0.deliveryCount == 1 && $0.party == Self.party })

        // The same state as reading the log from the lowest floor, as a version 1 registry has it.
        var legacy = contents
        legacy.version = 1
        legacy.scanFrom = contents.consumers.map(\.floor).min()!
        legacy.consumers = contents.consumers.map { entry in
            var entry = entry
            entry.next = nil
            entry.unsettled = nil
            return entry
        }
        let fromLog = try recovered(legacy, directory: directory)
        #expect(fromLog.read > fromRegistry.read)
        #expect(fromLog.state.readCursor == fromRegistry.state.readCursor)
        #expect(fromLog.state.unsettledDeliveries == fromRegistry.state.unsettledDeliveries)
    }

    // The version 2 registry must carry what the log after `scan-from` no longer says: when
    // messages were routed after the deliveries (so `scan-from` is past their delivery records),
    // the unsettled deliveries and the read cursor come from the registry alone.
    static let otherQueue = Destination(kind: .queue, name: "other")

    private static func publish(_ broker: Broker, _ destination: Destination, _ count: Int) {
        let published = DispatchGroup()
        for index in 0..<count {
            published.enter()
            broker.publish(Publication(destination: destination, headers: [:], body: Array("job \(index)".utf8), sender: party)) { _ in
                published.leave()
            }
        }
        published.wait()
    }

    @Test func unsettledDeliveriesWhoseRecordsAreBelowScanFromAreRestored() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-registry-v2-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let delivered: [UInt64]
        do {
            let log = try MessageLog.open(LogOptions(dataDirectory: directory))
            defer { log.close() }
            let broker = Broker(store: LogMessageStore(log: log))
            let pump = ConsumerPump(broker: broker, registry: ConsumerRegistry(dataDirectory: directory), logger: Logger(label: "test"))
            pump.start()
            let target = CollectingTarget()
            let session = broker.attach(party: Self.party, target: target)
            Self.publish(broker, Self.queue, 50)
            try broker.subscribe(sessionID: session, party: Self.party, subscriptionID: "s", destination: Self.queue, mode: .clientIndividual, prefetch: 10)
            try eventuallyBlocking("ten deliveries") { target.deliveries.count == 10 }
            for delivery in target.deliveries.prefix(4) {
                let acknowledged = DispatchSemaphore(value: 0)
                try broker.acknowledge(sessionID: session, ackID: String(delivery.ackID!)) { _ in acknowledged.signal() }
                acknowledged.wait()
            }
            // Messages of another queue come after the delivery records: scan-from passes them.
            Self.publish(broker, Self.otherQueue, 5)
            pump.stop()
            delivered = target.deliveries.map(\.message.offset)
        }
        let contents = try ConsumerRegistry(dataDirectory: directory).load()
        let log = try MessageLog.open(LogOptions(dataDirectory: directory))
        defer { log.close() }
        let recovery = try ConsumerRecovery(registry: contents, log: log, rules: DeliveryRules())
        let state = try #require(recovery.consumers.first { $0.state.destination == Self.queue }).state
        #expect(state.unsettledDeliveries.map(\.offset) == Array(delivered.dropFirst(4)))
        #expect(state.readCursor == delivered.last! + 1)
    }
}
