import MusterClient
import MusterStomp
import MusterTestSupport
import Testing

@Suite("ack modes through a real broker process")
struct AcknowledgementTests {
    /// Publishes `count` numbered messages to `queue` and waits for their receipts.
    func fill(_ queue: String, count: Int, broker: BrokerProcess) async throws {
        let dispatcher = try await broker.connect("langxia-town")
        for number in 1...count { try await dispatcher.publish(to: queue, text: "task \(number)", receipt: true) }
        try await dispatcher.disconnect()
    }

    @Test func autoAckMessagesAreNotDeliveredAgain() async throws {
        try await withBroker { broker in
            try await fill("/queue/auto", count: 2, broker: broker)
            let worker = try await broker.connect("jinshan-public-security")
            let inbox = try await worker.subscribe(to: "/queue/auto", ack: .auto)
            let messages = try await inbox.take(2)
            #expect(messages.allSatisfy { $0.ackID == nil })
            try await worker.disconnect()
            // A new consumer sees only what is published now.
            let next = try await broker.connect("shanta-village-grid")
            let nextInbox = try await next.subscribe(to: "/queue/auto")
            try await fill("/queue/auto", count: 1, broker: broker)
            #expect(try await nextInbox.take(1).map(\.bodyText) == ["task 1"])
        }
    }

    @Test func clientIndividualAckSettlesOnlyTheNamedMessage() async throws {
        try await withBroker { broker in
            try await fill("/queue/individual", count: 2, broker: broker)
            let worker = try await broker.connect("jinshan-public-security")
            let inbox = try await worker.subscribe(to: "/queue/individual", ack: .clientIndividual)
            let messages = try await inbox.take(2)
            try await worker.ack(messages[1], receipt: true)
            try await worker.disconnect()

            let next = try await broker.connect("shanta-village-grid")
            let redelivered = try await next.subscribe(to: "/queue/individual", ack: .clientIndividual).take(1)
            #expect(redelivered.map(\.bodyText) == ["task 1"])
            #expect(redelivered.first?.redelivered == true)
            #expect(redelivered.first?.headers["muster-delivery-count"] == "2")
        }
    }

    @Test func clientAckSettlesTheNamedMessageAndEveryEarlierOne() async throws {
        try await withBroker { broker in
            try await fill("/queue/cumulative", count: 3, broker: broker)
            let worker = try await broker.connect("jinshan-public-security")
            let inbox = try await worker.subscribe(to: "/queue/cumulative", ack: .client)
            let messages = try await inbox.take(3)
            try await worker.ack(messages[1], receipt: true)  // settles task 1 and task 2
            try await worker.disconnect()

            let next = try await broker.connect("shanta-village-grid")
            let redelivered = try await next.subscribe(to: "/queue/cumulative", ack: .client).take(1)
            #expect(redelivered.map(\.bodyText) == ["task 3"])
        }
    }

    @Test func nackRedeliversAndAckOfASettledDeliveryIsRefused() async throws {
        try await withBroker { broker in
            let worker = try await broker.connect("jinshan-public-security")
            let inbox = try await worker.subscribe(to: "/queue/nack", ack: .clientIndividual)
            try await fill("/queue/nack", count: 1, broker: broker)
            let first = try await inbox.take(1).first!
            try await worker.nack(first, receipt: true)
            let again = try await inbox.take(1).first!
            #expect(again.bodyText == "task 1")
            #expect(again.redelivered)
            #expect(again.ackID != first.ackID)
            try await worker.ack(again, receipt: true)
            do {
                try await worker.ack(first, receipt: true)
                Issue.record("acking a superseded delivery must be refused")
            } catch let error as MusterClientError {
                #expect(error.code == "unknown-ack")
            }
        }
    }

    /// ACKs read in a row are settled together (one broker lock); one that fails must still
    /// close the connection before any later frame of the same read takes effect: a DISCONNECT
    /// after it gets no RECEIPT (the client must learn of the refusal), a SEND after it is not stored.
    @Test(arguments: ["disconnect", "send"])
    func aFailingAckAmongAcksInOneReadRefusesTheConnectionBeforeTheFramesAfterIt(next frameAfter: String) async throws {
        try await withBroker { broker in
            let queue = "/queue/acks-in-a-row-\(frameAfter)"
            try await fill(queue, count: 3, broker: broker)
            let worker = try RawStompClient(address: broker.address, tls: try broker.pki.client("jinshan-public-security").tls, loop: ReplayTests.loop)
            defer { worker.close() }
            try await runBlocking {
                try connect(worker)
                worker.send(StompFrame(.subscribe, headers: ["id": "s", "destination": queue, "ack": "client-individual"]))
                let ids = try frames(worker, untilMessages: 3).filter { $0.command == .message }.map { $0.headers["ack"]! }
                // One write, so one read at the broker: ACK, an ACK naming nothing, ACK, then the frame after.
                var bytes: [UInt8] = []
                for id in [ids[0], "999999", ids[1]] { bytes += StompFrameEncoder.encode(StompFrame(.ack, headers: ["id": id])) }
                if frameAfter == "send" {
                    bytes += StompFrameEncoder.encode(StompFrame(.send, headers: ["destination": queue, "receipt": "sent"], body: Array("after the refusal".utf8)))
                }
                bytes += StompFrameEncoder.encode(StompFrame(.disconnect, headers: ["receipt": "bye"]))
                worker.send(bytes)
                let answer = try #require(try worker.nextFrame(timeout: 15), "an answer to the write")
                #expect(answer.command == .error, "refused for the ACK naming nothing, not \(answer.command) \(answer.headers.entries)")
                #expect(answer.headers["muster-error-code"] == "unknown-ack")
                while let later = try worker.nextFrame(timeout: 5) {
                    Issue.record("nothing after the refusal, got \(later.command) \(later.headers.entries)")
                }
            }
            // Only the ACK before the failing one took effect, and nothing after it was stored.
            let next = try await broker.connect("shanta-village-grid")
            let inbox = try await next.subscribe(to: queue, ack: .clientIndividual)
            #expect(Set(try await inbox.take(2).map(\.bodyText)) == ["task 2", "task 3"])
            try await next.publish(to: queue, text: "marker", receipt: true)
            #expect(try await inbox.take(1).map(\.bodyText) == ["marker"], "nothing else was stored before it")
        }
    }
}
