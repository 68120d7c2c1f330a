import MusterClient
import MusterTestSupport
import Testing

@Suite("transactions through a real broker process")
struct TransactionTests {
    @Test func committedSendsArriveTogetherAfterTheCommitAndNotBefore() async throws {
        try await withBroker { broker in
            let listener = try await broker.connect("langxia-town")
            let feed = try await listener.subscribe(to: "/topic/orders")
            let sender = try await broker.connect("jinshan-public-security")
            let transaction = try await sender.begin()
            try await sender.publish(to: "/topic/orders", text: "in transaction 1", transaction: transaction)
            try await sender.publish(to: "/topic/orders", text: "in transaction 2", transaction: transaction)
            // Sent after, but outside the transaction: it must overtake the uncommitted ones.
            try await sender.publish(to: "/topic/orders", text: "marker", receipt: true)
            try await sender.commit(transaction)
            let messages = try await feed.take(3)
            #expect(messages.map(\.bodyText) == ["marker", "in transaction 1", "in transaction 2"])
        }
    }

    @Test func abortedSendsAreNeverDelivered() async throws {
        try await withBroker { broker in
            let listener = try await broker.connect("langxia-town")
            let feed = try await listener.subscribe(to: "/topic/orders")
            let sender = try await broker.connect("jinshan-public-security")
            let transaction = try await sender.begin()
            try await sender.publish(to: "/topic/orders", text: "discarded", transaction: transaction)
            try await sender.abort(transaction)
            try await sender.publish(to: "/topic/orders", text: "after abort", receipt: true)
            #expect(try await feed.take(1).map(\.bodyText) == ["after abort"])
        }
    }

    @Test func transactionalAckTakesEffectOnlyOnCommit() async throws {
        try await withBroker { broker in
            let dispatcher = try await broker.connect("langxia-town")
            try await dispatcher.publish(to: "/queue/tx-acks", text: "job", receipt: true)
            let worker = try await broker.connect("jinshan-public-security")
            let job = try await worker.subscribe(to: "/queue/tx-acks", ack: .clientIndividual).take(1).first!
            let transaction = try await worker.begin()
            try await worker.ack(job, transaction: transaction)
            try await worker.abort(transaction)
            try await worker.disconnect()
            // The aborted ack did not settle the job: the next consumer gets it again.
            let next = try await broker.connect("shanta-village-grid")
            let redelivered = try await next.subscribe(to: "/queue/tx-acks", ack: .clientIndividual).take(1).first!
            #expect(redelivered.bodyText == "job")
            let commitTransaction = try await next.begin()
            try await next.ack(redelivered, transaction: commitTransaction)
            try await next.commit(commitTransaction)
            try await next.disconnect()
            let last = try await broker.connect("jinshan-public-security")
            let inbox = try await last.subscribe(to: "/queue/tx-acks")
            try await dispatcher.publish(to: "/queue/tx-acks", text: "next job", receipt: true)
            #expect(try await inbox.take(1).map(\.bodyText) == ["next job"])
        }
    }

    @Test func commitOfAnUnknownTransactionIsRefused() async throws {
        try await withBroker { broker in
            let sender = try await broker.connect("jinshan-public-security")
            do {
                try await sender.commit("never-begun")
                Issue.record("COMMIT of an unknown transaction must be refused")
            } catch let error as MusterClientError {
                #expect(error.code == "unknown-transaction")
            }
        }
    }
}
