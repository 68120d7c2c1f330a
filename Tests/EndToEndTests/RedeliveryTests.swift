import MusterClient
import MusterStomp
import MusterTestSupport
import Testing

/// Ack-wait redelivery, max-deliveries and dead letters, and the acknowledgement queries,
/// through a real broker process.
@Suite("redelivery, dead letters and acknowledgement queries")
struct RedeliveryTests {
    static let settings = """
        delivery:
          destinations:
            - destination: /queue/slow*
              ack-wait: 1s
            - destination: /queue/fragile
              ack-wait: 1s
              max-deliveries: 2
        """

    func publish(_ text: String, to destination: String, on broker: BrokerProcess) async throws {
        let town = try await broker.connect("langxia-town")
        try await town.publish(to: destination, text: text, headers: ["case": "gold-digging"], receipt: true)
        try await town.disconnect()
    }

    @Test func anUnacknowledgedDeliveryIsRedeliveredAfterTheAckWaitAndItsOldAckIsRefused() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let adapter = try await broker.connect("jinshan-public-security")
            let inbox = try await adapter.subscribe(to: "/queue/slow-tasks", ack: .clientIndividual)
            try await publish("report in", to: "/queue/slow-tasks", on: broker)
            let messages = try await inbox.take(2)
            #expect(messages.map(\.bodyText) == ["report in", "report in"])
            #expect(messages.map { $0.headers["muster-delivery-count"] } == ["1", "2"])
            #expect(!messages[0].redelivered && messages[1].redelivered)
            #expect(messages[0].ackID != messages[1].ackID)
            do {
                try await adapter.ack(messages[0], receipt: true)
                Issue.record("an ACK for a superseded delivery must be refused")
            } catch let error as MusterClientError {
                guard case .refused(let code, let message, _) = error else { throw error }
                #expect(code == "ack-superseded")
                #expect(message.contains("ack-wait of 1 s expired"))
            }
        }
    }

    @Test func afterMaxDeliveriesTheMessageMovesToTheDeadLetterQueueWithItsHistory() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let auditor = try await broker.connect("discipline-inspector")
            let deadLetters = try await auditor.subscribe(to: "/queue/muster.dead-letters", ack: .clientIndividual)
            let adapter = try await broker.connect("jinshan-public-security")
            let inbox = try await adapter.subscribe(to: "/queue/fragile", ack: .clientIndividual)
            try await publish("never processed", to: "/queue/fragile", on: broker)
            let attempts = try await inbox.take(2)
            let dead = try await deadLetters.take(1)[0]
            #expect(dead.bodyText == "never processed")
            #expect(dead.headers["muster-dead-letter-from"] == "/queue/fragile")
            #expect(dead.headers["muster-dead-letter-offset"] == String(attempts[0].offset))
            #expect(dead.headers["muster-dead-letter-deliveries"] == "2")
            #expect(dead.headers["muster-dead-letter-reason"]?.contains("max-deliveries (2)") == true)
            #expect(dead.sender == "langxia-town")
            #expect(dead.headers["case"] == "gold-digging")

            let history = try await AckQueryClient(auditor).history(offset: attempts[0].offset, destination: "/queue/fragile")
            #expect(history.events.map(\.event) == ["delivered", "expired", "delivered", "expired", "dead-lettered"])
            #expect(history.events.map(\.deliveryCount) == [1, 1, 2, 2, 2])
            #expect(history.events.allSatisfy { $0.party == "jinshan/jinshan-public-security" })
        }
    }

    @Test func nackWithoutRequeueDeadLettersAtOnce() async throws {
        try await withBroker { broker in
            let auditor = try await broker.connect("discipline-inspector")
            let deadLetters = try await auditor.subscribe(to: "/queue/muster.dead-letters")
            let adapter = try await broker.connect("jinshan-public-security")
            let inbox = try await adapter.subscribe(to: "/queue/handoffs", ack: .clientIndividual)
            try await publish("not ours", to: "/queue/handoffs", on: broker)
            let message = try await inbox.take(1)[0]
            try await adapter.nack(message, requeue: false, receipt: true)
            let dead = try await deadLetters.take(1)[0]
            #expect(dead.headers["muster-dead-letter-from"] == "/queue/handoffs")
            #expect(dead.headers["muster-dead-letter-reason"]?.contains("NACK requeue:false") == true)
            #expect(dead.headers["muster-dead-letter-deliveries"] == "1")
        }
    }

    @Test func aCoordinatorSeesWhatIsPendingForWhomAndTheHistoryOfEachAck() async throws {
        try await withBroker { broker in
            let security = try await broker.connect("jinshan-public-security")
            let securityInbox = try await security.subscribe(to: "/topic/summons", ack: .clientIndividual, id: "inbox",
                                                             headers: ["durable": "true"])
            let grid = try await broker.connect("shanta-village-grid")
            let gridInbox = try await grid.subscribe(to: "/topic/summons", ack: .clientIndividual, id: "inbox",
                                                     headers: ["durable": "true"])
            try await publish("whistle", to: "/topic/summons", on: broker)
            let toSecurity = try await securityInbox.take(1)[0]
            _ = try await gridInbox.take(1)
            try await security.ack(toSecurity, receipt: true)

            let coordinator = try await broker.connect("langxia-town")
            let queries = AckQueryClient(coordinator)
            let pending = try await queries.pending(destination: "/topic/summons")
            #expect(pending.map(\.party) == ["jinshan/shanta-village-grid"])
            #expect(pending.first?.consumer == "durable:jinshan/shanta-village-grid/inbox")
            #expect(pending.first?.state == "delivered")
            #expect(pending.first?.deliveryCount == 1)
            #expect(try await queries.pending(party: "jinshan/jinshan-public-security").isEmpty)

            let history = try await queries.history(offset: toSecurity.offset, destination: "/topic/summons")
            let acked = history.events.filter { $0.event == "acked" }
            #expect(acked.map(\.party) == ["jinshan/jinshan-public-security"])
            #expect(Set(history.events.filter { $0.event == "delivered" }.map(\.party))
                    == ["jinshan/jinshan-public-security", "jinshan/shanta-village-grid"])
            #expect(history.pending.map(\.party) == ["jinshan/shanta-village-grid"])

            // The command-line tool gives the same answers.
            let options = try broker.options(for: "langxia-town")
            let listed = try await runMuster(["acks", "pending", "--destination", "/topic/summons"] + options.commandLineArguments)
            #expect(listed.status == 0)
            #expect(listed.output.contains("jinshan/shanta-village-grid") && !listed.output.contains("jinshan-public-security"))
            let shown = try await runMuster(["acks", "history", String(toSecurity.offset), "--destination", "/topic/summons"] + options.commandLineArguments)
            #expect(shown.status == 0)
            #expect(shown.output.contains("acked") && shown.output.contains("jinshan/jinshan-public-security"))
        }
    }

    @Test func aReplayThatAsksForAcksShowsWhoAcknowledgedWhatAndWhen() async throws {
        try await withBroker { broker in
            let adapter = try await broker.connect("jinshan-public-security")
            let inbox = try await adapter.subscribe(to: "/topic/summons", ack: .clientIndividual, id: "inbox", headers: ["durable": "true"])
            try await publish("whistle", to: "/topic/summons", on: broker)
            let message = try await inbox.take(1)[0]
            try await adapter.ack(message, receipt: true)

            let auditor = try await broker.connect("discipline-inspector")
            let replay = try await auditor.subscribe(to: "/topic/summons", headers: [
                "x-stream-offset": "first", "muster-until": "head", "muster-include-acks": "true",
            ])
            let records = try await within(.seconds(15), "the replay") {
                var records: [ReceivedMessage] = []
                for try await record in replay { records.append(record) }
                return records
            }
            #expect(records.map { $0.headers["muster-record"] ?? "message" } == ["message", "delivery", "delivery"])
            // Each a batch record of one event: its line says what happened to which offset, and which delivery.
            let replayed = records.dropFirst().map(\.bodyText)
            #expect(replayed.count == 2 && replayed[0].hasPrefix("delivered \(message.offset) 1 ") && replayed[1].hasPrefix("acked \(message.offset) 1 "), "\(replayed)")
            #expect(records.dropFirst().allSatisfy {
                $0.headers["muster-party"] == "jinshan/jinshan-public-security" && $0.headers["muster-subscription"] == "inbox"
                    && $0.headers["muster-events"] == "1" && $0.headers["muster-consumer"]?.hasPrefix("durable:") == true
            })
            // Without the header, a replay carries the messages only.
            let plain = try await auditor.subscribe(to: "/topic/summons", headers: ["x-stream-offset": "first", "muster-until": "head"])
            let messages = try await within(.seconds(15), "the plain replay") {
                var messages: [ReceivedMessage] = []
                for try await message in plain { messages.append(message) }
                return messages
            }
            #expect(messages.map(\.bodyText) == ["whistle"])

            // The offline dump shows the same two records.
            let dump = try await runMuster(["log", "dump", "--data", broker.dataDirectory, "--kinds", "deliveries"])
            #expect(dump.status == 0)
            let lines = dump.output.split(separator: "\n").filter { $0.contains("\"kind\":\"delivery\"") }
            #expect(lines.count == 2)
            #expect(lines.last?.contains("\"muster-event\":\"acked\"") == true)
        }
    }

    @Test func aQueryWithoutAReplySubscriptionIsRefusedClearly() async throws {
        try await withBroker { broker in
            let coordinator = try await broker.connect("langxia-town")
            do {
                try await coordinator.send(StompFrame(.send, headers: [
                    "destination": "/queue/muster.query", "muster-query": "acks-pending", "reply-to": "/topic/muster.reply.nobody",
                ]), awaitingReceipt: true)
                Issue.record("a query whose reply-to nobody subscribed to must be refused")
            } catch let error as MusterClientError {
                guard case .refused(let code, _, _) = error else { throw error }
                #expect(code == "invalid-query")
            }
        }
    }
}
