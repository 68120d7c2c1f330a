import MusterStomp
import MusterTestSupport
import Testing

/// A transaction commits whole or not at all, and a RECEIPT for a SEND inside one means what
/// every RECEIPT means: on disk (so it comes once the COMMIT is durable, never for an ABORT).
@Suite("transactions: all or nothing, receipts after the commit")
struct TransactionAtomicityTests {
    /// Langxia town may publish to /topic/orders but not to /topic/closed.
    static let topics = """
        topics:
          - {destination: /topic/orders, publish: all, subscribe: all}
          - {destination: /topic/closed, publish: [{party: joint-command}], subscribe: all}
          - {destination: "/topic/**", publish: all, subscribe: all}
        """

    @Test func aRefusedSendRefusesTheWholeCommitAndNothingOfItIsStored() async throws {
        try await withBroker(topics: Self.topics) { broker in
            let listener = try await connectedRawClient(broker, "jinshan-public-security")
            defer { listener.close() }
            let sender = try await connectedRawClient(broker, "langxia-town")
            defer { sender.close() }
            let refusal = try await runBlocking { () throws -> StompFrame? in
                listener.send(StompFrame(.subscribe, headers: ["id": "all", "destination": "/topic/orders", "receipt": "listening"]))
                _ = try frames(listener, until: "listening")
                sender.send(StompFrame(.begin, headers: ["transaction": "t"]))
                sender.send(StompFrame(.send, headers: ["destination": "/topic/orders", "transaction": "t"], body: Array("first".utf8)))
                sender.send(StompFrame(.send, headers: ["destination": "/topic/closed", "transaction": "t"], body: Array("refused".utf8)))
                sender.send(StompFrame(.send, headers: ["destination": "/topic/orders", "transaction": "t"], body: Array("third".utf8)))
                sender.send(StompFrame(.commit, headers: ["transaction": "t", "receipt": "committed"]))
                return try sender.nextFrame(timeout: 15)
            }
            #expect(refusal?.command == .error)
            #expect(refusal?.headers["muster-error-code"] == "not-authorized")
            #expect(refusal?.headers["receipt-id"] == "committed")
            #expect(refusal?.headers["message"]?.contains("nothing in it was stored") == true, "\(refusal?.headers["message"] ?? "")")
            // Another connection's message to the same topic arrives, and nothing of the transaction came before it.
            let other = try await connectedRawClient(broker, "shanta-village-grid")
            defer { other.close() }
            let seen = try await runBlocking { () throws -> [String] in
                other.send(StompFrame(.send, headers: ["destination": "/topic/orders", "receipt": "marker"], body: Array("marker".utf8)))
                _ = try frames(other, until: "marker")
                return try frames(listener, untilMessages: 1).filter { $0.command == .message }.map { String(decoding: $0.body, as: UTF8.self) }
            }
            #expect(seen == ["marker"])
            let history = try await runBlocking { () throws -> [String] in
                listener.send(StompFrame(.subscribe, headers: ["id": "history", "destination": "/topic/orders", "x-stream-offset": "first",
                                                               "muster-until": "head"]))
                var bodies: [String] = []
                while let frame = try listener.nextFrame(timeout: 15) {
                    if frame.command == .receipt, frame.headers["receipt-id"] == "muster-end:history" { break }
                    if frame.command == .message, frame.headers["subscription"] == "history" { bodies.append(String(decoding: frame.body, as: UTF8.self)) }
                }
                return bodies
            }
            #expect(history == ["marker"], "the log holds nothing of the refused transaction")
        }
    }

    @Test func receiptsOfSendsInATransactionComeAfterItsCommitIsDurableAndNeverForAnAbort() async throws {
        try await withBroker(topics: Self.topics) { broker in
            let sender = try await connectedRawClient(broker, "langxia-town")
            defer { sender.close() }
            let (beforeCommit, afterCommit, afterAbort) = try await runBlocking { () throws -> ([String], [String], [String]) in
                func receiptIDs(_ frames: [StompFrame]) -> [String] { frames.filter { $0.command == .receipt }.compactMap { $0.headers["receipt-id"] } }
                sender.send(StompFrame(.begin, headers: ["transaction": "t"]))
                for index in 1...3 {
                    sender.send(StompFrame(.send, headers: ["destination": "/topic/orders", "transaction": "t", "receipt": "s\(index)"], body: Array("m\(index)".utf8)))
                }
                // A SEND outside the transaction, with a receipt: every receipt due before it is in front of it.
                sender.send(StompFrame(.send, headers: ["destination": "/topic/orders", "receipt": "outside"], body: Array("outside".utf8)))
                let before = receiptIDs(try frames(sender, until: "outside"))
                sender.send(StompFrame(.commit, headers: ["transaction": "t", "receipt": "committed"]))
                let after = receiptIDs(try frames(sender, until: "committed"))

                sender.send(StompFrame(.begin, headers: ["transaction": "u"]))
                sender.send(StompFrame(.send, headers: ["destination": "/topic/orders", "transaction": "u", "receipt": "u1"], body: Array("u1".utf8)))
                sender.send(StompFrame(.abort, headers: ["transaction": "u", "receipt": "aborted"]))
                sender.send(StompFrame(.send, headers: ["destination": "/topic/orders", "receipt": "later"], body: Array("later".utf8)))
                return (before, after, receiptIDs(try frames(sender, until: "later")))
            }
            #expect(beforeCommit == ["outside"], "no receipt of a SEND in the transaction before its COMMIT")
            #expect(afterCommit == ["s1", "s2", "s3", "committed"])
            #expect(afterAbort == ["aborted", "later"], "an aborted SEND gets no receipt")
        }
    }
}
