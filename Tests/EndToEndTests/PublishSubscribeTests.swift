import MusterClient
import MusterStomp
import MusterTestSupport
import Testing

@Suite("publish and subscribe through a real broker process")
struct PublishSubscribeTests {
    @Test func topicDeliversEveryMessageToEverySubscriberWithTheSenderStampedFromItsCertificate() async throws {
        try await withBroker { broker in
            let town = try await broker.connect("langxia-town")
            let police = try await broker.connect("jinshan-public-security")
            let neighbour = try await broker.connect("guangchen-town", jurisdiction: "pinghu")
            let townFeed = try await town.subscribe(to: "/topic/joint-patrol")
            let policeFeed = try await police.subscribe(to: "/topic/joint-patrol")

            try await neighbour.publish(to: "/topic/joint-patrol", text: "巡逻 08:00", headers: ["content-type": "text/plain"], receipt: true)
            try await neighbour.publish(to: "/topic/joint-patrol", text: "巡逻 09:00", receipt: true)

            for feed in [townFeed, policeFeed] {
                let messages = try await feed.take(2)
                #expect(messages.map(\.bodyText) == ["巡逻 08:00", "巡逻 09:00"])
                #expect(messages.allSatisfy { $0.sender == "guangchen-town" && $0.senderJurisdiction == "pinghu" })
                #expect(messages[0].headers["content-type"] == "text/plain")
                #expect(messages[0].destination == "/topic/joint-patrol")
            }
            for connection in [town, police, neighbour] { try await connection.disconnect() }
        }
    }

    @Test func connectLoginNeverOverridesTheCertificateIdentity() async throws {
        try await withBroker { broker in
            let impostor = try await MusterConnection.connect(try broker.options(for: "shanta-village-grid"),
                                                              extraHeaders: ["login": "langxia-town", "passcode": "secret"])
            #expect(impostor.party == "muster://jinshan/shanta-village-grid")
            let listener = try await broker.connect("langxia-town")
            let feed = try await listener.subscribe(to: "/topic/who")
            try await impostor.publish(to: "/topic/who", text: "hello", receipt: true)
            #expect(try await feed.take(1).first?.sender == "shanta-village-grid")
        }
    }

    @Test func clientSuppliedSenderHeaderIsRefused() async throws {
        try await withBroker { broker in
            let grid = try await broker.connect("shanta-village-grid")
            await #expect(throws: MusterClientError.self) {
                try await grid.publish(to: "/topic/who", text: "x", headers: ["muster-sender": "langxia-town"], receipt: true)
            }
            do {
                try await grid.publish(to: "/topic/who", text: "again", receipt: true)
                Issue.record("the connection should be closed after the refusal")
            } catch let error as MusterClientError {
                #expect(error.code == "reserved-header")
            }
        }
    }

    @Test func queueGivesEachMessageToExactlyOneCompetingConsumer() async throws {
        try await withBroker { broker in
            let first = try await broker.connect("jinshan-public-security")
            let second = try await broker.connect("shanta-village-grid")
            let firstInbox = try await first.subscribe(to: "/queue/work-orders")
            let secondInbox = try await second.subscribe(to: "/queue/work-orders")
            let dispatcher = try await broker.connect("langxia-town")
            for number in 1...6 {
                try await dispatcher.publish(to: "/queue/work-orders", text: "order \(number)", receipt: true)
            }
            let one = try await firstInbox.take(3)
            let two = try await secondInbox.take(3)
            let all = (one + two).map(\.bodyText).sorted()
            #expect(all == (1...6).map { "order \($0)" }.sorted())
            #expect(Set(one.map(\.bodyText)).isDisjoint(with: two.map(\.bodyText)))
        }
    }

    @Test func queueKeepsMessagesUntilAConsumerArrives() async throws {
        try await withBroker { broker in
            let dispatcher = try await broker.connect("langxia-town")
            try await dispatcher.publish(to: "/queue/backlog", text: "waiting", receipt: true)
            let worker = try await broker.connect("jinshan-public-security")
            let inbox = try await worker.subscribe(to: "/queue/backlog")
            #expect(try await inbox.take(1).map(\.bodyText) == ["waiting"])
        }
    }

    @Test func bodiesWithNulBytesArriveIntact() async throws {
        try await withBroker { broker in
            let town = try await broker.connect("langxia-town")
            let feed = try await town.subscribe(to: "/topic/binary")
            let body: [UInt8] = [0, 1, 2, 0, 255, 0x0A, 0]
            try await town.publish(to: "/topic/binary", body: body, receipt: true)
            #expect(try await feed.take(1).first?.body == body)
        }
    }
}
