import MusterStomp
import MusterTestSupport
import Testing

/// A subscription starts after everything its own connection sent before it (RabbitMQ: 0 of 3):
/// a SEND followed at once by a SUBSCRIBE on the same connection is not delivered to it.
@Suite("where a subscription starts")
struct SubscriptionStartTests {
    /// SEND `before` (no receipt), SUBSCRIBE with `headers`, SEND `after` with a receipt; the
    /// bodies the subscription then received, until the receipt.
    private func bodiesAfterSubscribing(_ client: RawStompClient, topic: String, subscription: [String: String], round: Int) throws -> [String] {
        client.send(StompFrame(.send, headers: ["destination": topic], body: Array("before \(round)".utf8)))
        var subscribe = StompHeaders([("destination", topic), ("receipt", "subscribed-\(round)")])
        for (name, value) in subscription { subscribe.append(name, value) }
        client.send(StompFrame(.subscribe, headers: subscribe))
        client.send(StompFrame(.send, headers: ["destination": topic, "receipt": "after-\(round)"], body: Array("after \(round)".utf8)))
        var bodies: [String] = []
        // The MESSAGE of "after" comes once it is stored, which may be after its RECEIPT.
        while !bodies.contains("after \(round)") {
            guard let frame = try client.nextFrame(timeout: 15) else { throw TimedOut(what: "the message sent after SUBSCRIBE, round \(round)") }
            if frame.command == .error { throw UnexpectedFrame(frame: frame) }
            if frame.command == .message { bodies.append(String(decoding: frame.body, as: UTF8.self)) }
        }
        return bodies
    }

    @Test func aSubscribeDoesNotReceiveItsConnectionsEarlierSend() async throws {
        try await withBroker { broker in
            let client = try await connectedRawClient(broker, "langxia-town")
            defer { client.close() }
            let rounds = try await runBlocking { () throws -> [[String]] in
                return try (1...5).map { round in
                    try bodiesAfterSubscribing(client, topic: "/topic/start-\(round)", subscription: ["id": "s\(round)"], round: round)
                }
            }
            #expect(rounds == (1...5).map { ["after \($0)"] })
        }
    }

    @Test func aNewDurableSubscriptionDoesNotReceiveItsConnectionsEarlierSend() async throws {
        try await withBroker { broker in
            let client = try await connectedRawClient(broker, "langxia-town")
            defer { client.close() }
            let rounds = try await runBlocking { () throws -> [[String]] in
                return try (1...3).map { round in
                    // Deleted just before, so that each round creates it anew.
                    if round > 1 { client.send(StompFrame(.unsubscribe, headers: ["id": "inbox", "durable": "true"])) }
                    return try bodiesAfterSubscribing(client, topic: "/topic/durable-start", subscription: ["id": "inbox", "durable": "true"], round: round)
                }
            }
            #expect(rounds == (1...3).map { ["after \($0)"] })
        }
    }
}
