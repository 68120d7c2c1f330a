import Foundation
import MusterStomp
import MusterTestSupport
import Testing

/// Slow and unfinished frames, and too many connections, through a real broker.
@Suite("connection limits through a real broker process")
struct ConnectionLimitsEndToEndTests {
    private func connected(_ broker: BrokerProcess, _ party: String) async throws -> (RawStompClient, StompFrame?) {
        let files = try broker.pki.client(party)
        let client = try await runBlocking { try RawStompClient(address: broker.address, tls: files.tls, loop: ConnectionHealthTests.loop) }
        let answer = try await runBlocking { () throws -> StompFrame? in
            client.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "127.0.0.1"]))
            return try client.nextFrame(timeout: 15)
        }
        return (client, answer)
    }

    @Test func aPartysConnectionBeyondItsLimitIsRefused() async throws {
        try await withBroker(settings: "limits: {max-connections-per-party: 2}") { broker in
            var open: [RawStompClient] = []
            defer { for client in open { client.close() } }
            for _ in 0..<2 {
                let (client, answer) = try await connected(broker, "langxia-town")
                open.append(client)
                #expect(answer?.command == .connected, "\(String(describing: answer?.headers)) \(String(decoding: answer?.body ?? [], as: UTF8.self))")
            }
            let (third, refusal) = try await connected(broker, "langxia-town")
            open.append(third)
            #expect(refusal?.command == .error)
            #expect(refusal?.headers["muster-error-code"] == "limit-exceeded")
            #expect(refusal?.headers["message"]?.contains("limits.max-connections-per-party") == true)
            let (other, welcome) = try await connected(broker, "shanta-village-grid")
            open.append(other)
            #expect(welcome?.command == .connected, "another party is not held back")
        }
    }

    @Test func aFrameThatWouldTakeTheBrokerOverItsInboundBudgetIsRefused() async throws {
        try await withBroker(settings: "limits: {max-inbound-buffer-bytes: 64KiB}") { broker in
            let (client, answer) = try await connected(broker, "langxia-town")
            defer { client.close() }
            #expect(answer?.command == .connected)
            let refusal = try await runBlocking { () throws -> StompFrame? in
                // A SEND whose body never ends: 100 KB of it, unfinished.
                client.send(Array("SEND\ndestination:/topic/slow\n\n".utf8) + [UInt8](repeating: 0x41, count: 100_000))
                return try client.nextFrame(timeout: 15)
            }
            #expect(refusal?.headers["muster-error-code"] == "limit-exceeded")
            #expect(refusal?.headers["message"]?.contains("limits.max-inbound-buffer-bytes") == true)
        }
    }

    @Test(.tags(.timing)) func aFrameSentByteByByteIsRefusedAtTheFrameTimeout() async throws {
        try await withBroker(settings: "limits: {frame-timeout: 1s}") { broker in
            let (client, answer) = try await connected(broker, "langxia-town")
            defer { client.close() }
            #expect(answer?.command == .connected)
            let refusal = try await runBlocking { () throws -> StompFrame? in
                // One byte every 100 ms, as a slowloris sends: the frame never completes in time.
                for byte in Array("SEND\ndestination:/topic/slow\n\nhello, very slowly".utf8) {
                    client.send([byte])
                    if client.waitForClose(timeout: 0.1) { break }
                }
                return try client.nextFrame(timeout: 15)
            }
            #expect(refusal?.headers["muster-error-code"] == "limit-exceeded")
            #expect(refusal?.headers["message"]?.contains("limits.frame-timeout") == true)
        }
    }
}
