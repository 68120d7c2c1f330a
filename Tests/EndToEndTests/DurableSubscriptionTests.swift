import MusterClient
import MusterStomp
import MusterTestSupport
import Testing

/// A department's adapter that disconnects, crashes, or outlives a broker restart loses
/// nothing and sees again only what it had not acknowledged.
@Suite("durable subscriptions and queues across disconnects and restarts")
struct DurableSubscriptionTests {
    static let summons = "/topic/summons.public-security"
    static let durable: StompHeaders = ["durable": "true"]

    func publish(_ texts: [String], to destination: String = summons, on broker: BrokerProcess) async throws {
        let town = try await broker.connect("langxia-town")
        for text in texts { try await town.publish(to: destination, text: text, receipt: true) }
        try await town.disconnect()
    }

    func subscribeDurably(_ connection: MusterConnection, prefetch: Int? = nil) async throws -> MessageSubscription {
        var headers = Self.durable
        if let prefetch { headers["prefetch-count"] = String(prefetch) }
        return try await connection.subscribe(to: Self.summons, ack: .clientIndividual, id: "inbox", headers: headers)
    }

    @Test func aDurableSubscriberResumesAfterADisconnectWithoutLossOrGaps() async throws {
        try await withBroker { broker in
            let adapter = try await broker.connect("jinshan-public-security")
            let inbox = try await subscribeDurably(adapter)
            try await publish(["s1", "s2", "s3"], on: broker)
            let first = try await inbox.take(3)
            #expect(first.map(\.bodyText) == ["s1", "s2", "s3"])
            try await adapter.ack(first[0], receipt: true)
            try await adapter.ack(first[2], receipt: true)
            try await adapter.disconnect()

            try await publish(["s4", "s5"], on: broker)
            let again = try await broker.connect("jinshan-public-security")
            let resumed = try await subscribeDurably(again).take(3)
            #expect(resumed.map(\.bodyText) == ["s2", "s4", "s5"])
            #expect(resumed[0].redelivered && resumed[0].headers["muster-delivery-count"] == "2")
            #expect(!resumed[1].redelivered && resumed[1].headers["muster-delivery-count"] == "1")
        }
    }

    @Test func unacknowledgedDeliveriesAreRedeliveredAfterABrokerCrash() async throws {
        let first = try await runBlocking { try BrokerProcess.start() }
        var current = first
        defer { current.stop() }
        do {
            let adapter = try await first.connect("jinshan-public-security")
            let inbox = try await subscribeDurably(adapter)
            try await publish((1...6).map { "s\($0)" }, on: first)
            let delivered = try await inbox.take(6)
            for message in delivered[0..<4] { try await adapter.ack(message, receipt: true) }

            first.kill()  // SIGKILL: no shutdown, no registry save
            current = try first.restart()
            try await publish(["s7"], on: current)

            let again = try await current.connect("jinshan-public-security")
            let resumed = try await subscribeDurably(again).take(3)
            #expect(resumed.map(\.bodyText) == ["s5", "s6", "s7"])
            #expect(resumed.map { $0.headers["muster-delivery-count"] } == ["2", "2", "1"])
            // Nothing else arrives: the acknowledged four are settled for good.
            try await again.ack(resumed[2], receipt: true)
            let pending = try await AckQueryClient(again).pending(destination: Self.summons)
            #expect(pending.map(\.offset) == [resumed[0].offset, resumed[1].offset])
        } catch {
            Issue.record("broker output before the restart:\n\(first.log)\n--- after ---\n\(current.log)")
            throw error
        }
    }

    @Test func aDurableSubscriptionCollectsWhileItsAdapterIsAwayEvenAcrossARestart() async throws {
        let first = try await runBlocking { try BrokerProcess.start() }
        var current = first
        defer { current.stop() }
        do {
            let adapter = try await first.connect("jinshan-public-security")
            _ = try await subscribeDurably(adapter)
            try await adapter.disconnect()
            try await publish(["while away 1", "while away 2"], on: first)
            #expect(first.stop(removingDirectory: false) == 0)
            current = try first.restart()
            try await publish(["after restart"], on: current)

            let again = try await current.connect("jinshan-public-security")
            let resumed = try await subscribeDurably(again).take(3)
            #expect(resumed.map(\.bodyText) == ["while away 1", "while away 2", "after restart"])
            #expect(resumed.allSatisfy { !$0.redelivered })
        } catch {
            Issue.record("broker output before the restart:\n\(first.log)\n--- after ---\n\(current.log)")
            throw error
        }
    }

    @Test func unsubscribeWithDurableDeletesTheSubscriptionAndItsBacklog() async throws {
        try await withBroker { broker in
            let adapter = try await broker.connect("jinshan-public-security")
            let inbox = try await subscribeDurably(adapter)
            try await publish(["old"], on: broker)
            _ = try await inbox.take(1)
            try await adapter.send(StompFrame(.unsubscribe, headers: ["id": "inbox", "durable": "true"]), awaitingReceipt: true)
            try await publish(["gone while deleted"], on: broker)

            let fresh = try await subscribeDurably(adapter)
            try await publish(["new"], on: broker)
            #expect(try await fresh.take(1).map(\.bodyText) == ["new"])
        }
    }

    @Test func aDurableIdNamesOneDestinationPerParty() async throws {
        try await withBroker { broker in
            let adapter = try await broker.connect("jinshan-public-security")
            let inbox = try await subscribeDurably(adapter)
            try await inbox.unsubscribe()
            do {
                _ = try await adapter.subscribe(to: "/topic/other", ack: .clientIndividual, id: "inbox", headers: Self.durable)
                Issue.record("a durable id reused for another destination must be refused")
            } catch let error as MusterClientError {
                #expect(error.code == "durable-conflict")
            }
        }
    }

    @Test func aQueueKeepsItsMessagesAcrossARestartUntilAConsumerAcknowledgesThem() async throws {
        let first = try await runBlocking { try BrokerProcess.start() }
        var current = first
        defer { current.stop() }
        do {
            try await publish(["task 1", "task 2", "task 3"], to: "/queue/work-orders", on: first)
            let worker = try await first.connect("jinshan-public-security")
            let queue = try await worker.subscribe(to: "/queue/work-orders", ack: .clientIndividual)
            let tasks = try await queue.take(3)
            try await worker.ack(tasks[1], receipt: true)
            first.kill()
            current = try first.restart()

            let next = try await current.connect("shanta-village-grid")
            let redelivered = try await next.subscribe(to: "/queue/work-orders", ack: .clientIndividual).take(2)
            #expect(redelivered.map(\.bodyText) == ["task 1", "task 3"])
            #expect(redelivered.allSatisfy { $0.redelivered })
        } catch {
            Issue.record("broker output before the restart:\n\(first.log)\n--- after ---\n\(current.log)")
            throw error
        }
    }
}

extension ReceivedMessage {
    var offset: UInt64 { UInt64(headers["x-stream-offset"] ?? "") ?? .max }
}
