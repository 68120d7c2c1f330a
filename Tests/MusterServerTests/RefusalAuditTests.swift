import Foundation
import Logging
import MusterBroker
import MusterLog
import MusterServer
import MusterTestSupport
import Testing
@testable import MusterProtocol

/// Every refusal is appended to the audit destination, stamped with the broker's clock (the
/// one `muster demo --speed` compresses and tests replace), not the wall clock.
@Suite("Refusal audit")
struct RefusalAuditTests {
    @Test func aRefusalRecordCarriesTheTimeOfTheBrokersClock() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-refusal-audit")
        defer { directory.remove() }
        let pki = try TestPKI(in: directory.path)
        let parties = try directory.write(BrokerProcess.partiesText(pki: pki), to: "parties.yaml")
        let topics = try directory.write(BrokerProcess.openTopics, to: "topics.yaml")
        let file = try directory.write("""
            broker: {name: test-broker, jurisdiction: jinshan}
            listen: 127.0.0.1:0
            data-directory: \(directory.file("data"))
            parties: \(parties)
            topics: \(topics)
            schemas: \(BrokerProcess.schemasDirectory)
            tls: {certificate: \(pki.serverCertificate), private-key: \(pki.serverKey)}
            """, to: "muster.yaml")
        let configuration = try ServerConfiguration.load(file: file)
        let injected: Int64 = 946_684_800_000  // 2000-01-01T00:00:00Z: far from any wall clock a test runs on
        let server = try BrokerServer(configuration: configuration, logger: Logger(label: "refusal-audit-test"), clock: { injected })
        try server.start()
        defer { server.shutdown() }

        let stranger = PartyIdentity(jurisdiction: "jinshan", party: "not-a-party")
        let refusal = try #require(server.policy.policy.decideSubscribe(try Destination(parsing: "/topic/notices"), by: stranger).refusal)
        server.policy.record(refusal)

        let record = try await Self.firstAuditRecord(in: server.log)
        #expect(record.time == injected, "the refusal is stamped \(record.time), not the broker's clock \(injected)")
        #expect(record.party == "not-a-party" && record.code == refusal.code.rawValue, "\(record)")
    }

    /// The first record of the audit destination, once the broker has appended it.
    static func firstAuditRecord(in log: MessageLog, timeout: Duration = .seconds(60)) async throws -> RefusalRecord {
        let cursor = log.cursor(from: 0)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let record = try cursor.next().first(where: { $0.destination == RefusalRecord.destination.description }) {
                return try JSONDecoder().decode(RefusalRecord.self, from: Data(record.body))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw AuditRecordMissing()
    }

    struct AuditRecordMissing: Error, CustomStringConvertible {
        var description: String { "no record reached the audit destination \(RefusalRecord.destination)" }
    }
}
