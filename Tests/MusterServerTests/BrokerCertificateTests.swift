import Foundation
import MusterServer
import MusterTestSupport
import Testing

/// `muster certs init` gives each jurisdiction's broker a certificate `muster://JURISDICTION/broker`
/// from that jurisdiction's CA, good for serving clients and for connecting to peer brokers.
/// Checked with the `openssl` tool.
@Suite("broker certificates of the development PKI")
struct BrokerCertificateTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func openssl(_ arguments: [String]) async throws -> ProgramRun {
        try await runProcess("/usr/bin/openssl", arguments)
    }

    @Test func eachJurisdictionsBrokerHasItsOwnURINameFromItsOwnCA() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-broker-pki")
        defer { directory.remove() }
        let parties = try PartyDirectory.load(file: "\(Self.root)/Config/parties.yaml")
        _ = try DevelopmentPKI.create(parties: parties, brokerJurisdiction: "jinshan", in: directory.path)

        for jurisdiction in ["jinshan", "pinghu"] {
            let certificate = "\(directory.path)/\(jurisdiction)/broker.crt"
            let text = try await openssl(["x509", "-in", certificate, "-noout", "-ext", "subjectAltName,extendedKeyUsage"])
            #expect(text.status == 0, "\(text)")
            #expect(text.stdout.contains("URI:muster://\(jurisdiction)/broker"), "\(text.stdout)")
            #expect(text.stdout.contains("TLS Web Server Authentication") && text.stdout.contains("TLS Web Client Authentication"), "\(text.stdout)")
            #expect(text.stdout.contains("IP Address:127.0.0.1"), "\(text.stdout)")
            let other = jurisdiction == "jinshan" ? "pinghu" : "jinshan"
            let own = try await openssl(["verify", "-CAfile", "\(directory.path)/\(jurisdiction)/ca.crt", certificate])
            #expect(own.status == 0, "issued by its own jurisdiction's CA: \(own)")
            let foreign = try await openssl(["verify", "-CAfile", "\(directory.path)/\(other)/ca.crt", certificate])
            #expect(foreign.status != 0, "not by the other jurisdiction's CA: \(foreign)")
        }
        // This broker's server certificate is its jurisdiction's broker certificate.
        let server = try String(contentsOfFile: "\(directory.path)/server.crt", encoding: .utf8)
        #expect(server == (try String(contentsOfFile: "\(directory.path)/jinshan/broker.crt", encoding: .utf8)))
    }

    /// `--host` names the hosts peer brokers reach each other by (compose's service names):
    /// every broker certificate carries them, and no longer `localhost` unless named.
    @Test func certsInitHostNamesGoIntoEveryBrokerCertificate() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-broker-hosts")
        defer { directory.remove() }
        let run = try await runMuster(["certs", "init", "--config", "Config/muster.yaml", "--out", directory.path, "--host", "jinshan", "--host", "pinghu"],
                                      directory: Self.root)
        #expect(run.status == 0, "\(run)")
        for jurisdiction in ["jinshan", "pinghu"] {
            let text = try await openssl(["x509", "-in", "\(directory.path)/\(jurisdiction)/broker.crt", "-noout", "-ext", "subjectAltName"])
            #expect(text.stdout.contains("DNS:jinshan") && text.stdout.contains("DNS:pinghu") && !text.stdout.contains("DNS:localhost"), "\(text.stdout)")
            #expect(text.stdout.contains("IP Address:127.0.0.1"), "\(text.stdout)")
        }
    }

    @Test func noPartyMayTakeTheBrokersName() throws {
        let directory = try TemporaryDirectory(prefix: "muster-broker-pki")
        defer { directory.remove() }
        let file = "\(directory.path)/parties.yaml"
        try """
            jurisdictions:
              - {id: jinshan, ca: jinshan/ca.crt}
            parties:
              - {id: broker, jurisdiction: jinshan, kind: township}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try PartyDirectory.load(file: file) } throws: { error in
            "\(error)".contains("parties[0].id") && "\(error)".contains("reserved for the jurisdiction's broker")
        }
    }
}
