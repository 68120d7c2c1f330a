import Foundation
import MusterClient
import MusterTestSupport
import Testing

/// Connections refused at the TLS handshake are in the audit destination too, with their
/// source; a certificate retried again and again is recorded once per interval, not each time.
@Suite("refused connections in the audit destination")
struct RefusedConnectionAuditTests {
    /// The refusal records an auditor replays from the start.
    private func refusalRecords(_ broker: BrokerProcess, atLeast count: Int) async throws -> [[String: Any]] {
        let auditor = try await broker.connect("discipline-inspector")
        defer { Task { try? await auditor.disconnect() } }
        let audit = try await auditor.subscribe(to: "/topic/muster.audit.refusals", headers: ["x-stream-offset": "first"])
        return try await audit.take(count).compactMap { try JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
    }

    @Test func aHandshakeRefusedForAnUnknownAuthorityIsRecordedWithItsSource() async throws {
        try await withBroker { broker in
            let stranger = try broker.pki.untrustedClient("langxia-town")
            let options = ClientOptions(server: broker.address, identity: ClientIdentity(
                certificatePath: stranger.certificate, privateKeyPath: stranger.key, trustedAuthorityPaths: [stranger.authority]))
            await #expect(throws: MusterClientError.self) { _ = try await MusterConnection.connect(options) }
            let record = try #require(try await refusalRecords(broker, atLeast: 1).first)
            #expect(record["rule"] as? String == "TLS handshake")
            #expect(record["code"] as? String == "identity-refused")
            #expect(record["source"] as? String == "127.0.0.1")
            #expect((record["reason"] as? String)?.contains("certificate") == true, "\(record)")
        }
    }

    @Test func anUnlistedPartyRetryingIsRecordedOncePerInterval() async throws {
        try await withBroker { broker in
            for _ in 0..<10 {
                await #expect(throws: MusterClientError.self) { _ = try await broker.connect("unlisted-office") }
            }
            // A different refusal after them, so that the replay has something to stop at.
            let stranger = try broker.pki.untrustedClient("langxia-town")
            let options = ClientOptions(server: broker.address, identity: ClientIdentity(
                certificatePath: stranger.certificate, privateKeyPath: stranger.key, trustedAuthorityPaths: [stranger.authority]))
            await #expect(throws: MusterClientError.self) { _ = try await MusterConnection.connect(options) }
            let records = try await refusalRecords(broker, atLeast: 2)
            #expect(records.map { $0["rule"] as? String } == ["parties file: parties", "TLS handshake"],
                    "ten refusals of the unlisted party are one record in the interval: \(records)")
        }
    }
}
