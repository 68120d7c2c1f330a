import Foundation
import MusterTestSupport
import Testing
@testable import MusterNet

// What the broker learns about a client after a real mutual-TLS handshake on 127.0.0.1:
// enough to tell which jurisdiction's CA vouched for it, and to look its serial up in a CRL.

@Suite("Peer certificate chain details", .timeLimit(.minutes(2)))
struct PeerCertificateTests {
    @Test func jinshanClientIsVouchedForByTheJinshanAuthority() async throws {
        try await withTLSHarness { harness in
            let files = try harness.pki.client("langxia-town")
            harness.connectIgnoringResult(files.tls)
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("server side open") { server.log.opened }
            let peer = try #require(server.log.peerCertificate)

            let jinshan = try CertificateFingerprint.sha256(ofPEMFile: harness.pki.jinshanAuthority)
            let pinghu = try CertificateFingerprint.sha256(ofPEMFile: harness.pki.pinghuAuthority)
            #expect(peer.uriNames == ["muster://jinshan/langxia-town"])
            #expect(peer.anchorFingerprint == jinshan[0])
            #expect(peer.anchorFingerprint != pinghu[0])
            #expect(peer.issuerFingerprint == jinshan[0], "no intermediate: the anchor issued it")
            #expect(peer.serialNumber == (try harness.pki.serialNumber(ofCertificateFile: files.certificate)))
            #expect(peer.serialNumber.count == 32, "16 random bytes, top bits 01: \(peer.serialNumber)")
            #expect(peer.issuer.contains("CN=Jinshan test CA"), "\(peer.issuer)")
            #expect(peer.anchorFingerprint.count == 64 && peer.anchorFingerprint.allSatisfy("0123456789abcdef".contains))
        }
    }

    @Test func pinghuCertificateClaimingAJinshanIdentityShowsThePinghuAnchor() async throws {
        try await withTLSHarness { harness in
            // Pinghu's CA is trusted, so the handshake succeeds; only the anchor tells the lie apart.
            let impostor = try harness.pki.client("x", jurisdiction: "pinghu", uriNames: ["muster://jinshan/x"])
            harness.connectIgnoringResult(impostor.tls)
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("server side open") { server.log.opened }
            let peer = try #require(server.log.peerCertificate)

            #expect(peer.uriNames == ["muster://jinshan/x"])
            #expect(peer.anchorFingerprint == (try CertificateFingerprint.sha256(ofPEMFile: harness.pki.pinghuAuthority))[0])
            #expect(peer.anchorFingerprint != (try CertificateFingerprint.sha256(ofPEMFile: harness.pki.jinshanAuthority))[0])
            #expect(peer.issuer.contains("CN=Pinghu test CA"), "\(peer.issuer)")
            #expect(peer.serialNumber == (try harness.pki.serialNumber(ofCertificateFile: impostor.certificate)))
        }
    }

    @Test func certificateFromAnIntermediateNamesItsIssuerAndTheRootAnchor() async throws {
        try await withTLSHarness { harness in
            let root = try CertificateAuthority(certificatePath: harness.pki.jinshanAuthority,
                                                keyPath: harness.directory.path + "/jinshan/ca.key")
            let intermediate = try root.issue(commonName: "Langxia town issuing CA", usage: .certificateAuthority)
            let intermediatePaths = (harness.directory.file("intermediate.crt"), harness.directory.file("intermediate.key"))
            try intermediate.write(certificateTo: intermediatePaths.0, keyTo: intermediatePaths.1)
            let issuing = try CertificateAuthority(certificatePath: intermediatePaths.0, keyPath: intermediatePaths.1)
            let leaf = try issuing.issue(commonName: "langxia-grid", usage: .client, uriNames: ["muster://jinshan/langxia-grid"])
            // The client presents its certificate followed by the intermediate.
            let chained = PEMCertificate(certificatePEM: leaf.certificatePEM + intermediate.certificatePEM,
                                         privateKeyPEM: leaf.privateKeyPEM)
            let paths = (harness.directory.file("grid.crt"), harness.directory.file("grid.key"))
            try chained.write(certificateTo: paths.0, keyTo: paths.1)

            harness.connectIgnoringResult(TLSConfiguration(certificatePath: paths.0, privateKeyPath: paths.1,
                                                           trustedAuthorityPaths: [harness.pki.jinshanAuthority]))
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("server side open") { server.log.opened || server.log.closed }
            let peer = try #require(server.log.peerCertificate, "\(server.log.closeError ?? "")")

            #expect(peer.issuerFingerprint == (try CertificateFingerprint.sha256(ofPEM: intermediate.certificatePEM)))
            #expect(peer.anchorFingerprint == (try CertificateFingerprint.sha256(ofPEMFile: harness.pki.jinshanAuthority))[0])
            #expect(peer.issuer.contains("CN=Langxia town issuing CA"), "\(peer.issuer)")
            #expect(peer.serialNumber == (try leaf.serialNumber))
        }
    }

    @Test("A client reconnecting with its earlier session gets a full handshake, and so a verified chain",
          arguments: ["-tls1_2", "-tls1_3"])
    func reconnectingClientsAreNotResumedSoEveryConnectionHasItsChain(version: String) async throws {
        try await withTLSHarness { harness in
            let files = try harness.pki.client("langxia-town")
            // s_client -reconnect connects six times, offering the first session each time (TLS 1.3:
            // if the broker sent a ticket before s_client closed).
            let result = try await runOpenSSL(["s_client", "-connect", "127.0.0.1:\(harness.port)", "-reconnect", version,
                                         "-cert", files.certificate, "-key", files.key, "-CAfile", files.authority],
                                        input: "")
            let connections = result.output.components(separatedBy: "\n").filter { $0.hasPrefix("New,") || $0.hasPrefix("Reused,") }
            #expect(connections.count >= 2, "\(result.output)\(result.errors)")
            #expect(!connections.contains { $0.hasPrefix("Reused,") }, "\(connections)")

            try await eventually("every connection settled on the server") {
                harness.servers.count >= connections.count && harness.servers.allSatisfy { $0.log.opened || $0.log.closed }
            }
            // A TLS 1.2 client offering its earlier session must still get in (with a full handshake).
            let jinshan = try CertificateFingerprint.sha256(ofPEMFile: harness.pki.jinshanAuthority)[0]
            for server in harness.servers {
                #expect(server.log.opened, "\(server.log.closeError ?? "")")
                #expect(server.log.peerCertificate?.anchorFingerprint == jinshan)
            }
        }
    }

    @Test func serialNumberIsWhatTheOpenSSLToolPrintsInLowercase() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-serial")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        var serials: Set<String> = []
        for index in 0..<8 {
            let certificate = try authority.issue(commonName: "party\(index)", usage: .client)
            let path = try scratch.write(certificate.certificatePEM, to: "party\(index).crt")
            let printed = try await runOpenSSL(["x509", "-serial", "-noout", "-in", path])
            let expected = printed.output.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            #expect(expected.hasPrefix("serial="), "\(printed.output)\(printed.errors)")
            #expect("serial=" + (try certificate.serialNumber) == expected)
            #expect(try CertificateSummary.read(pemFile: path).serialNumber == certificate.serialNumber)
            serials.insert(try certificate.serialNumber)
        }
        #expect(serials.count == 8, "serials are random and unique per certificate")
    }

    @Test func serialWithALeadingZeroNibbleDropsItButStillMatchesOpenSSLsForm() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-serial")
        defer { scratch.remove() }
        let path = scratch.file("small.crt")
        let made = try await runOpenSSL(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                   "-subj", "/CN=small serial", "-set_serial", "0x0a0b", "-days", "1",
                                   "-keyout", scratch.file("small.key"), "-out", path])
        #expect(made.status == 0, "\(made.errors)")
        let printed = try await runOpenSSL(["x509", "-serial", "-noout", "-in", path]).output
        #expect(printed.hasPrefix("serial=0A0B"), "openssl prints whole bytes: \(printed)")

        let serial = try CertificateSummary.read(pemFile: path).serialNumber
        #expect(serial == "a0b")
        let list = RevocationList(authorityFingerprint: "", revokedSerials: [printed], thisUpdate: Date(), nextUpdate: nil)
        #expect(list.isRevoked(serialNumber: serial))
    }
}

extension TLSTestHarness {
    /// Connects a client whose own log the test does not look at.
    func connectIgnoringResult(_ configuration: TLSConfiguration) {
        do { try connect(configuration) } catch { Issue.record("cannot connect: \(error)") }
    }
}
