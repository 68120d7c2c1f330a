import Foundation
import MusterStomp
import MusterTestSupport
import Testing

/// STOMP 1.0 and 1.1 on the wire, next to 1.2 (Schemas/protocol.md, Versions).
@Suite("STOMP 1.0 and 1.1 end to end")
struct StompVersionsEndToEndTests {
    private func client(_ broker: BrokerProcess, party: String) throws -> RawStompClient {
        try RawStompClient(address: broker.address, tls: try broker.pki.client(party).tls, loop: ReplayTests.loop)
    }

    /// Sends CONNECT as `headers` and returns CONNECTED, reading the rest as its version.
    private func connect(_ client: RawStompClient, _ headers: StompHeaders) throws -> StompFrame {
        client.send(StompFrame(.connect, headers: headers))
        guard let connected = try client.nextFrame(), connected.command == .connected else { throw TimedOut(what: "CONNECTED") }
        client.version = StompVersion(rawValue: connected.headers["version"] ?? "") ?? .v1_2
        return connected
    }

    private func next(_ client: RawStompClient, _ command: StompCommand, _ what: String) throws -> StompFrame {
        while true {
            guard let frame = try client.nextFrame(timeout: 15) else { throw TimedOut(what: what) }
            if frame.command == command { return frame }
            if frame.command == .error { throw UnexpectedFrame(frame: frame) }
        }
    }

    @Test func aStomp10ClientAndA12ClientExchangeHeadersEachInItsOwnEscaping() async throws {
        try await withBroker { broker in
            let old = try client(broker, party: "langxia-town")
            let new = try client(broker, party: "langxia-town")
            defer { old.close(); new.close() }
            try await runBlocking {
                let connected = try connect(old, ["host": "127.0.0.1", "heart-beat": "1000,1000"])
                #expect(connected.headers["version"] == "1.0", "no accept-version is STOMP 1.0")
                #expect(connected.headers["heart-beat"] == nil, "1.0 has no heart-beats")
                _ = try connect(new, ["accept-version": "1.2", "host": "127.0.0.1"])
                for client in [old, new] {
                    client.send(StompFrame(.subscribe, headers: ["id": "v", "destination": "/topic/versions", "receipt": "sub"]))
                    _ = try next(client, .receipt, "the subscription's receipt")
                }
                // 1.0 writes a backslash as itself and a colon in a value plainly.
                old.send(Array("SEND\ndestination:/topic/versions\nx-path:C:\\tmp\\new\nreceipt:sent\n\nfrom 1.0\0".utf8))
                // The RECEIPT and the subscription's MESSAGE may come in either order.
                let untilReceipt = try frames(old, until: "sent")
                let atNew = try next(new, .message, "the 1.0 message at the 1.2 client")
                #expect(atNew.headers["x-path"] == "C:\\tmp\\new")
                let atOld = try untilReceipt.first { $0.command == .message } ?? next(old, .message, "the 1.0 message at the 1.0 client")
                #expect(atOld.headers["x-path"] == "C:\\tmp\\new")
                #expect(old.received.starts(with: Array("CONNECTED\n".utf8)))
                #expect(String(decoding: old.received, as: UTF8.self).contains("\nx-path:C:\\tmp\\new\n"))

                new.send(StompFrame(.send, headers: ["destination": "/topic/versions", "x-note": "two\nlines", "receipt": "sent-2"],
                                    body: Array("from 1.2".utf8)))
                _ = try next(new, .receipt, "the 1.2 SEND's receipt")
                let lines = try next(old, .message, "the 1.2 message at the 1.0 client")
                #expect(lines.headers["x-note"] == "two lines", "1.0 cannot write a line feed in a header")
            }
        }
    }

    @Test func aStomp11ReplayIsAcknowledgedByMessageID() async throws {
        try await withBroker { broker in
            let reader = try client(broker, party: "langxia-town")
            defer { reader.close() }
            try await runBlocking {
                let connected = try connect(reader, ["accept-version": "1.0,1.1", "host": "127.0.0.1"])
                #expect(connected.headers["version"] == "1.1")
                for number in 1...2 {
                    reader.send(StompFrame(.send, headers: ["destination": "/topic/versions-replay", "receipt": "s\(number)"], body: Array("\(number)".utf8)))
                    _ = try next(reader, .receipt, "SEND \(number)'s receipt")
                }
                reader.send(StompFrame(.subscribe, headers: ["id": "r", "destination": "/topic/versions-replay", "ack": "client-individual",
                                                             "x-stream-offset": "first", "muster-until": "head"]))
                let first = try next(reader, .message, "the first replayed message")
                let second = try next(reader, .message, "the second replayed message")
                #expect(first.headers["ack"]?.hasPrefix("r") == true)
                reader.send(StompFrame(.ack, headers: ["message-id": second.headers["message-id"]!, "subscription": "r", "receipt": "a2"]))
                _ = try frames(reader, until: "a2")
                reader.send(StompFrame(.ack, headers: ["message-id": second.headers["message-id"]!, "subscription": "r", "receipt": "again"]))
                let refusal = try next(reader, .error, "the refusal of a second ACK")
                #expect(refusal.headers["muster-error-code"] == "unknown-ack", "the delivery is settled")
                #expect(refusal.headers["receipt-id"] == "again")
            }
        }
    }
}
