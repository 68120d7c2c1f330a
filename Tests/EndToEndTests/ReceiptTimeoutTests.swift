import Glibc
import MusterClient
import MusterTestSupport
import Testing

@Suite("client receipt deadlines")
struct ReceiptTimeoutTests {
    @Test func aReceiptThatNeverComesFailsTheWaitInsteadOfHanging() async throws {
        try await withBroker { broker in
            var options = try broker.options(for: "langxia-town")
            options.receiptTimeout = .seconds(1)
            let connection = try await MusterConnection.connect(options)
            // A frozen broker answers nothing; the publisher must not wait forever.
            _ = kill(broker.processIdentifier, SIGSTOP)
            defer { _ = kill(broker.processIdentifier, SIGCONT) }
            do {
                try await within(.seconds(20), "the receipt wait to fail") {
                    try await connection.publish(to: "/topic/notices", text: "anyone?", receipt: true)
                }
                Issue.record("a publish whose RECEIPT never arrives must fail")
            } catch let error as MusterClientError {
                guard case .timedOut(let what) = error else { throw error }
                #expect(what.contains("no RECEIPT for SEND"))
            }
            _ = kill(broker.processIdentifier, SIGCONT)
            // The connection is still usable once the broker answers again (on a loaded machine the
            // thawed broker may take longer than the 1 s deadline to answer: each try is its own wait).
            try await eventually(timeout: .seconds(30), "a receipted publish on the same connection") {
                do {
                    try await connection.publish(to: "/topic/notices", text: "back", receipt: true)
                    return true
                } catch let error as MusterClientError {
                    guard case .timedOut = error else { throw error }
                    return false
                }
            }
        }
    }
}
