import Foundation
import MusterClient
import MusterNet
import MusterStomp
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterProtocol

/// MusterConnection against a scripted server (FakeStompServer): what goes on the wire, and
/// what the client makes of every answer a broker can give — receipts, refusals, messages, the
/// end of a replay, silence and a closed connection.
@Suite("MusterConnection against a scripted STOMP server")
struct MusterConnectionTests {
    @Test func connectSendsAStomp12ConnectAndKeepsTheConnectedHeaders() async throws {
        try await withFakeServer { server in
            var options = try server.options()
            options.heartbeatSend = 0
            options.heartbeatWant = 0
            let connection = try await MusterConnection.connect(options, extraHeaders: ["login": "ignored-by-muster"])
            let connect = try #require(try await server.connection().frames.first)
            #expect(connect.command == .connect)
            #expect(connect.headers["accept-version"] == "1.2")
            #expect(connect.headers["host"] == "127.0.0.1", "host is the server name, by default the server's host")
            #expect(connect.headers["heart-beat"] == "0,0")
            #expect(connect.headers["login"] == "ignored-by-muster")
            #expect(connection.connectedHeaders["server"] == "fake")
            #expect(connection.party == "jinshan/langxia-town", "the party is what CONNECTED's muster-party names")
            try await connection.disconnect()
        }
    }

    @Test func publishWithAReceiptReturnsTheReceiptAndSendsTheFrameAsAsked() async throws {
        try await withFakeServer { server in
            let connection = try await MusterConnection.connect(try server.options())
            try await connection.publish(to: "/topic/notices", text: "flood warning", headers: ["x-level": "red"], receipt: true)
            try await connection.publish(to: "/topic/notices", text: "no receipt asked")
            let peer = try await server.connection()
            try await eventually("both SENDs at the server") { peer.frames(.send).count == 2 }
            let sends = peer.frames(.send)
            #expect(sends[0].headers["destination"] == "/topic/notices")
            #expect(sends[0].headers["x-level"] == "red")
            #expect(sends[0].bodyText == "flood warning")
            #expect(sends[0].headers["receipt"] != nil)
            #expect(sends[1].headers["receipt"] == nil, "a publish without a receipt asks for none")
            try await connection.disconnect()
        }
    }

    @Test func theReceiptsHeadersComeBackToTheSender() async throws {
        try await withFakeServer(respond: { frame, peer in
            guard frame.command == .send, let receipt = frame.headers["receipt"] else { return false }
            peer.send(StompFrame(.receipt, headers: ["receipt-id": receipt, "muster-workflow-id": "s-7"]))
            return true
        }) { server in
            let connection = try await MusterConnection.connect(try server.options())
            let headers = try await connection.send(StompFrame(.send, headers: ["destination": "/topic/summons"], text: "{}"), awaitingReceipt: true)
            #expect(headers["muster-workflow-id"] == "s-7")
            try await connection.disconnect()
        }
    }

    @Test func aRefusalFailsTheWaitingSendWithTheBrokersCodeAndLeavesTheConnectionUnusable() async throws {
        try await withFakeServer(respond: { frame, peer in
            guard frame.command == .send else { return false }
            peer.send(StompFrame(.error, headers: ["receipt-id": frame.headers["receipt"] ?? "", "muster-error-code": "not-authorized",
                                                   "message": "langxia-town may not publish to /topic/secret"], text: "see topics.yaml"))
            peer.close()
            return true
        }) { server in
            let connection = try await MusterConnection.connect(try server.options())
            let refusal = MusterClientError.refused(code: "not-authorized", message: "langxia-town may not publish to /topic/secret",
                                                    detail: "see topics.yaml")
            await #expect(throws: refusal) { try await connection.publish(to: "/topic/secret", text: "x", receipt: true) }
            await #expect(throws: refusal, "every later use reports the refusal that ended the connection") {
                try await connection.publish(to: "/topic/other", text: "y", receipt: true)
            }
        }
    }

    @Test func messagesReachTheirOwnSubscriptionInOrder() async throws {
        try await withFakeServer { server in
            let connection = try await MusterConnection.connect(try server.options())
            let work = try await connection.subscribe(to: "/queue/work", ack: .clientIndividual, id: "work")
            let news = try await connection.subscribe(to: "/topic/news", id: "news")
            let peer = try await server.connection()
            let subscribe = try #require(peer.frames(.subscribe).first)
            #expect(subscribe.headers["destination"] == "/queue/work")
            #expect(subscribe.headers["id"] == "work")
            #expect(subscribe.headers["ack"] == "client-individual")
            peer.deliver("job 1", subscription: "work", headers: ["ack": "a-1", "muster-sender": "guangchen-town",
                                                                  "muster-sender-jurisdiction": "pinghu"])
            peer.deliver("headline", subscription: "news", destination: "/topic/news")
            peer.deliver("job 2", subscription: "work", headers: ["ack": "a-2", "redelivered": "true"])
            let jobs = try await Self.take(2, from: work)
            #expect(jobs.map(\.bodyText) == ["job 1", "job 2"])
            #expect(jobs.map(\.ackID) == ["a-1", "a-2"])
            #expect(jobs[0].sender == "guangchen-town" && jobs[0].senderJurisdiction == "pinghu")
            #expect(jobs.map(\.redelivered) == [false, true])
            #expect(jobs.allSatisfy { $0.subscriptionID == "work" && $0.destination == "/queue/work" })
            #expect(try await Self.take(1, from: news).map(\.bodyText) == ["headline"])
            try await connection.disconnect()
        }
    }

    @Test func acknowledgementsNameTheMessagesAckHeader() async throws {
        try await withFakeServer { server in
            let connection = try await MusterConnection.connect(try server.options())
            let work = try await connection.subscribe(to: "/queue/work", ack: .clientIndividual, id: "work")
            let peer = try await server.connection()
            peer.deliver("job 1", subscription: "work", headers: ["ack": "a-1"])
            peer.deliver("job 2", subscription: "work", headers: ["ack": "a-2"])
            let jobs = try await Self.take(2, from: work)
            try await connection.ack(jobs[0], receipt: true)
            try await connection.nack(jobs[1], requeue: false, receipt: true)
            #expect(peer.frames(.ack).map { $0.headers["id"] } == ["a-1"])
            let nack = try #require(peer.frames(.nack).first)
            #expect(nack.headers["id"] == "a-2" && nack.headers["requeue"] == "false")
            try await connection.disconnect()
        }
    }

    @Test func anAckOfAMessageWithoutAnAckHeaderIsRefusedBeforeItIsSent() async throws {
        try await withFakeServer { server in
            let connection = try await MusterConnection.connect(try server.options())
            let news = try await connection.subscribe(to: "/topic/news", id: "news")
            let peer = try await server.connection()
            peer.deliver("headline", subscription: "news", destination: "/topic/news", headers: ["message-id": "m-42"])
            let message = try #require(try await Self.take(1, from: news).first)
            do {
                try await connection.ack(message)
                Issue.record("an ack of an ack:auto message must be refused")
            } catch let error as MusterClientError {
                guard case .invalidArgument(let text) = error else { throw error }
                #expect(text.contains("m-42") && text.contains("ack:auto"), "\(text)")
            }
            try await connection.disconnect()
            #expect(peer.frames(.ack).isEmpty)
        }
    }

    @Test func theEndOfAReplayEndsTheSubscriptionNormally() async throws {
        try await withFakeServer { server in
            let connection = try await MusterConnection.connect(try server.options())
            let replay = try await connection.subscribe(to: "/topic/patrol", id: "history", headers: ["x-stream-offset": "first", "muster-until": "head"])
            let peer = try await server.connection()
            #expect(peer.frames(.subscribe).first?.headers["x-stream-offset"] == "first")
            peer.deliver("first", subscription: "history", destination: "/topic/patrol")
            peer.deliver("second", subscription: "history", destination: "/topic/patrol")
            peer.send(StompFrame(.receipt, headers: ["receipt-id": "muster-end:history", "muster-replayed": "2"]))
            var bodies: [String] = []
            for try await message in replay { bodies.append(message.bodyText) }
            #expect(bodies == ["first", "second"], "the stream ends, without an error, at the end marker")
            try await connection.disconnect()
        }
    }

    @Test func aBrokerThatHangsUpEndsEverySubscriptionWithAnError() async throws {
        try await withFakeServer { server in
            let connection = try await MusterConnection.connect(try server.options())
            let work = try await connection.subscribe(to: "/queue/work", id: "work")
            try await server.connection().close()
            do {
                for try await _ in work {}
                Issue.record("the subscription must fail when the broker closes the connection")
            } catch let error as MusterClientError {
                guard case .closed = error else { throw error }
            }
            await #expect(throws: MusterClientError.self, "nothing more can be sent") { try await connection.publish(to: "/topic/x", text: "late") }
        }
    }

    @Test func aMalformedFrameFromTheBrokerIsATransportFailure() async throws {
        try await withFakeServer { server in
            let connection = try await MusterConnection.connect(try server.options())
            let work = try await connection.subscribe(to: "/queue/work", id: "work")
            try await server.connection().write(Array("MESSAGE\nsubscription:work\nbroken header without colon\n\nx\0".utf8))
            do {
                for try await _ in work {}
                Issue.record("a malformed frame must end the subscription with an error")
            } catch let error as MusterClientError {
                guard case .transport(let reason) = error else { throw error }
                #expect(reason.contains("malformed"), "\(reason)")
            }
        }
    }

    @Test func aReceiptThatNeverComesTimesOutAndTheConnectionStaysUsable() async throws {
        try await withFakeServer(respond: { frame, _ in frame.headers["destination"] == "/queue/silent" }) { server in
            let connection = try await MusterConnection.connect(try server.options(receiptTimeout: .seconds(2)))
            do {
                try await connection.publish(to: "/queue/silent", text: "anyone?", receipt: true)
                Issue.record("a receipt that never comes must time out")
            } catch let error as MusterClientError {
                guard case .timedOut(let what) = error else { throw error }
                #expect(what.contains("SEND"), "\(what)")
            }
            try await connection.publish(to: "/queue/answered", text: "still here", receipt: true)
            try await connection.disconnect()
        }
    }

    @Test func transactionsCarryTheirIdAndACommitWaitsForItsReceipt() async throws {
        try await withFakeServer { server in
            let connection = try await MusterConnection.connect(try server.options())
            let transaction = try await connection.begin()
            try await connection.publish(to: "/queue/work", text: "in a transaction", transaction: transaction)
            try await connection.commit(transaction)
            let peer = try await server.connection()
            #expect(peer.frames(.begin).map { $0.headers["transaction"] } == [transaction])
            #expect(peer.frames(.send).map { $0.headers["transaction"] } == [transaction])
            let commit = try #require(peer.frames(.commit).first)
            #expect(commit.headers["transaction"] == transaction && commit.headers["receipt"] != nil)
            try await connection.disconnect()
            #expect(peer.frames.last?.command == .disconnect)
        }
    }

    @Test func theClientSendsTheHeartBeatsTheServerWants() async throws {
        // The server sends none and wants one every 100 ms.
        try await withFakeServer(connectedHeaders: ["version": "1.2", "heart-beat": "0,100"]) { server in
            let connection = try await MusterConnection.connect(try server.options(heartbeat: 100))
            let peer = try await server.connection()
            #expect(peer.frames.first?.headers["heart-beat"] == "100,100")
            try await eventually("the client's heart-beats") { peer.heartbeats >= 2 }
            try await connection.disconnect()
        }
    }

    @Test func aBrokerSilentForTwiceItsPromisedIntervalIsHungUpOn() async throws {
        // The server promises a beat every 200 ms and never sends one.
        try await withFakeServer(connectedHeaders: ["version": "1.2", "heart-beat": "200,0"]) { server in
            let connection = try await MusterConnection.connect(try server.options(heartbeat: 100))
            do {
                // On a loaded machine the hang-up can come before the SUBSCRIBE is even sent.
                let work = try await connection.subscribe(to: "/queue/work", id: "work")
                for try await _ in work {}
                Issue.record("a broker silent for twice its promised interval must be hung up on")
            } catch let error as MusterClientError {
                guard case .closed(let reason) = error else { throw error }
                #expect(reason.contains("no heart-beat from the broker"), "\(reason)")
            }
        }
    }

    @Test func aServerCertificateFromAnUntrustedAuthorityIsATransportFailure() async throws {
        try await withFakeServer { server in
            // The server's certificate is issued by Jinshan; this client trusts only Pinghu.
            var options = try server.options()
            options.identity.trustedAuthorityPaths = [server.pki.pinghuAuthority]
            do {
                _ = try await MusterConnection.connect(options)
                Issue.record("a server the client does not trust must be refused")
            } catch let error as MusterClientError {
                guard case .transport = error else { throw error }
            }
        }
    }

    @Test func anAcknowledgementQueryIsASendToTheQueryQueueAnsweredOnAPrivateReplyDestination() async throws {
        let answer = #"{"pending": [{"consumer": "queue:/queue/work", "destination": "/queue/work", "offset": 12, "party": "jinshan/shanta-village-grid", "subscription": "s-1", "delivery-count": 2, "state": "delivered", "since": 1000, "age-ms": 50}]}"#
        try await withFakeServer(respond: { frame, peer in
            guard frame.command == .send, frame.headers["destination"] == "/queue/muster.query",
                  let replyTo = frame.headers["reply-to"], let receipt = frame.headers["receipt"],
                  let subscription = peer.frames(.subscribe).last(where: { $0.headers["destination"] == replyTo })?.headers["id"] else { return false }
            peer.send(StompFrame(.receipt, headers: ["receipt-id": receipt]))
            peer.deliver("{}", subscription: subscription, destination: replyTo, headers: ["correlation-id": "someone-else"])
            peer.deliver(answer, subscription: subscription, destination: replyTo, headers: ["correlation-id": frame.headers["correlation-id"] ?? ""])
            return true
        }) { server in
            let connection = try await MusterConnection.connect(try server.options())
            let pending = try await AckQueryClient(connection).pending(destination: "/queue/work", party: "jinshan/shanta-village-grid")
            #expect(pending == [PendingAck(consumer: "queue:/queue/work", destination: "/queue/work", offset: 12, party: "jinshan/shanta-village-grid",
                                           subscription: "s-1", deliveryCount: 2, state: "delivered", since: 1000, ageMilliseconds: 50)],
                    "the answer with the query's correlation id, not the other one")
            let peer = try await server.connection()
            let query = try #require(peer.frames(.send).first)
            #expect(query.headers["muster-query"] == "acks-pending")
            #expect(query.headers["muster-destination"] == "/queue/work")
            #expect(query.headers["muster-party"] == "jinshan/shanta-village-grid")
            let replyTo = try #require(query.headers["reply-to"])
            #expect(replyTo.hasPrefix("/topic/muster.reply."))
            #expect(peer.frames(.unsubscribe).count == 1, "the reply subscription is given up once answered")
            try await connection.disconnect()
        }
    }

    /// The next `count` messages of a subscription.
    static func take(_ count: Int, from subscription: MessageSubscription) async throws -> [ReceivedMessage] {
        var messages: [ReceivedMessage] = []
        for try await message in subscription {
            messages.append(message)
            if messages.count == count { break }
        }
        return messages
    }
}
