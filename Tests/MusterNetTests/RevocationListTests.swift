import Foundation
import MusterTestSupport
import Testing
@testable import MusterNet

// Certificate revocation lists: made by a CA, loaded only when that CA signed them, and
// checked independently with the `openssl` command-line tool.

@Suite("Certificate revocation lists")
struct RevocationListTests {
    @Test func revokedCertificateIsOnTheListAndItsSiblingIsNot() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let authorityPath = try scratch.write(authority.certificate.certificatePEM, to: "ca.crt")
        let revoked = try authority.issue(commonName: "revoked", usage: .client, uriNames: ["muster://jinshan/revoked"])
        let kept = try authority.issue(commonName: "kept", usage: .client, uriNames: ["muster://jinshan/kept"])
        let before = Date()
        let listPath = try scratch.write(try authority.revocationList(revoking: [try revoked.serialNumber]), to: "ca.crl")

        let list = try RevocationList.load(path: listPath, authorityPath: authorityPath)
        #expect(list.isRevoked(serialNumber: try revoked.serialNumber))
        #expect(!list.isRevoked(serialNumber: try kept.serialNumber))
        #expect(list.revokedSerials == [try revoked.serialNumber])
        #expect(list.authorityFingerprint == (try CertificateFingerprint.sha256(ofPEMFile: authorityPath)).first)
        #expect(abs(list.thisUpdate.timeIntervalSince(before)) < 5, "\(list.thisUpdate)")
        let nextUpdate = try #require(list.nextUpdate)
        #expect(abs(nextUpdate.timeIntervalSince(before) - 30 * 86400) < 5, "\(nextUpdate)")
        #expect(!list.isStale())

        // openssl agrees: the signature verifies, and the CRL revokes exactly the one certificate.
        let check = try await runOpenSSL(["crl", "-in", listPath, "-CAfile", authorityPath, "-noout"])
        #expect(check.status == 0 && check.errors.contains("verify OK"), "\(check.errors)")
        let revokedPath = try scratch.write(revoked.certificatePEM, to: "revoked.crt")
        let keptPath = try scratch.write(kept.certificatePEM, to: "kept.crt")
        let refused = try await runOpenSSL(["verify", "-crl_check", "-CAfile", authorityPath, "-CRLfile", listPath, revokedPath])
        #expect(refused.status != 0 && (refused.output + refused.errors).contains("certificate revoked"))
        let accepted = try await runOpenSSL(["verify", "-crl_check", "-CAfile", authorityPath, "-CRLfile", listPath, keptPath])
        #expect(accepted.status == 0, "\(accepted.output)\(accepted.errors)")
    }

    @Test func derEncodedListLoadsLikePEM() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let authorityPath = try scratch.write(authority.certificate.certificatePEM, to: "ca.crt")
        let pemPath = try scratch.write(try authority.revocationList(revoking: ["4a0b", "0C"]), to: "ca.crl")
        let derPath = scratch.file("ca.crl.der")
        let converted = try await runOpenSSL(["crl", "-in", pemPath, "-outform", "DER", "-out", derPath])
        #expect(converted.status == 0, "\(converted.errors)")

        let fromPEM = try RevocationList.load(path: pemPath, authorityPath: authorityPath)
        let fromDER = try RevocationList.load(path: derPath, authorityPath: authorityPath)
        #expect(fromDER == fromPEM)
        #expect(fromDER.revokedSerials == ["4a0b", "c"])
    }

    @Test func listSignedByAnotherAuthorityIsRefusedSayingSo() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let jinshan = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let pinghu = try CertificateAuthority.create(commonName: "Pinghu test CA")
        let jinshanPath = try scratch.write(jinshan.certificate.certificatePEM, to: "jinshan/ca.crt")
        let listPath = try scratch.write(try pinghu.revocationList(revoking: ["4abc"]), to: "jinshan/ca.crl")

        let error = #expect(throws: RevocationListError.self) {
            try RevocationList.load(path: listPath, authorityPath: jinshanPath)
        }
        #expect(error?.kind == .notSignedByAuthority)
        #expect(error?.description.hasPrefix("the CRL \(listPath) is not signed by the CA in \(jinshanPath)") == true,
                "\(String(describing: error))")
        #expect(error?.description.contains("Pinghu test CA") == true, "names the issuer the list claims")
    }

    @Test func listSignedByAnyCertificateOfARolloverFileLoads() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let retiring = try CertificateAuthority.create(commonName: "Jinshan CA 2025")
        let current = try CertificateAuthority.create(commonName: "Jinshan CA 2026")
        let bundlePath = try scratch.write(retiring.certificate.certificatePEM + current.certificate.certificatePEM, to: "ca.crt")
        let listPath = try scratch.write(try current.revocationList(revoking: ["4abc"]), to: "ca.crl")

        let list = try RevocationList.load(path: listPath, authorityPath: bundlePath)
        #expect(list.authorityFingerprint == (try CertificateFingerprint.sha256(ofPEMFile: bundlePath))[1])
        #expect(list.authorityFingerprint == (try CertificateFingerprint.sha256(ofPEM: current.certificate.certificatePEM)))
    }

    @Test(arguments: ["garbage", "empty", "certificate", "truncated"])
    func fileThatIsNotARevocationListIsRefused(content: String) async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let authorityPath = try scratch.write(authority.certificate.certificatePEM, to: "ca.crt")
        let list = try authority.revocationList(revoking: ["4abc"])
        let text = switch content {
        case "garbage": "this is not a CRL\n\u{1}\u{2}\u{3}"
        case "empty": ""
        case "certificate": authority.certificate.certificatePEM
        default: String(list.prefix(list.count / 2)) + "\n-----END X509 CRL-----\n"
        }
        let path = try scratch.write(text, to: "ca.crl")

        let error = #expect(throws: RevocationListError.self) {
            try RevocationList.load(path: path, authorityPath: authorityPath)
        }
        #expect(error?.kind == .notARevocationList)
        #expect(error?.description.contains("the file \(path) is not a certificate revocation list") == true,
                "\(String(describing: error))")
    }

    @Test func missingFilesAreNamed() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let authorityPath = try scratch.write(authority.certificate.certificatePEM, to: "ca.crt")
        let listPath = try scratch.write(try authority.revocationList(revoking: []), to: "ca.crl")

        let noList = #expect(throws: CertificateFileError.self) {
            try RevocationList.load(path: scratch.file("missing.crl"), authorityPath: authorityPath)
        }
        #expect(noList?.path == scratch.file("missing.crl") && noList?.errno == ENOENT)
        let noAuthority = #expect(throws: CertificateFileError.self) {
            try RevocationList.load(path: listPath, authorityPath: scratch.file("missing.crt"))
        }
        #expect(noAuthority?.path == scratch.file("missing.crt") && noAuthority?.errno == ENOENT)
        // An empty list is a valid list.
        #expect(try RevocationList.load(path: listPath, authorityPath: authorityPath).revokedSerials.isEmpty)
    }

    @Test func listPastItsNextUpdateStillLoadsButIsStale() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let authorityPath = try scratch.write(authority.certificate.certificatePEM, to: "ca.crt")
        let now = Date()
        let day: TimeInterval = 86400
        let pem = try authority.revocationList(revoking: ["4abc"], thisUpdate: now.addingTimeInterval(-10 * day),
                                               nextUpdate: now.addingTimeInterval(-day))
        let listPath = try scratch.write(pem, to: "ca.crl")

        let list = try RevocationList.load(path: listPath, authorityPath: authorityPath)
        #expect(list.isRevoked(serialNumber: "4abc"))
        #expect(list.isStale())
        #expect(list.isStale(at: now))
        #expect(!list.isStale(at: now.addingTimeInterval(-2 * day)))
        let undated = RevocationList(authorityFingerprint: "", revokedSerials: [], thisUpdate: now, nextUpdate: nil)
        #expect(!undated.isStale(at: .distantFuture))
    }

    @Test func serialsAreMatchedInEveryFormOpenSSLPrints() async throws {
        let list = RevocationList(authorityFingerprint: "", revokedSerials: ["serial=0A1B2C", "DEAD:BEEF"],
                                  thisUpdate: Date(), nextUpdate: nil)
        #expect(list.revokedSerials == ["a1b2c", "deadbeef"])
        for form in ["a1b2c", "0a1b2c", "0A1B2C", "serial=0A1B2C", "0a:1b:2c", " a1b2c\n", "deadbeef", "DE:AD:BE:EF"] {
            #expect(list.isRevoked(serialNumber: form), "\(form)")
        }
        for form in ["", "a1b2", "a1b2c0", "xyz", "-a1b2c"] {
            #expect(!list.isRevoked(serialNumber: form), "\(form)")
        }
    }

    @Test func serialThatIsNotHexadecimalCannotBeRevoked() async throws {
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let error = #expect(throws: RevocationListError.self) {
            try authority.revocationList(revoking: ["4abc", "langxia-town"])
        }
        #expect(error?.kind == .invalidSerialNumber)
        #expect(error?.description.contains("'langxia-town' is not a certificate serial number") == true)
    }

    @Test func updatingAListKeepsEarlierRevocationsAndRaisesItsNumber() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let authorityPath = try scratch.write(authority.certificate.certificatePEM, to: "ca.crt")
        let listPath = scratch.file("nested/ca.crl")

        let first = try authority.updateRevocationList(at: listPath, revoking: ["4aaa"])
        let firstNumber = try await crlNumber(listPath)
        let second = try authority.updateRevocationList(at: listPath, revoking: ["4bbb", "4aaa"])
        #expect(first.revokedSerials == ["4aaa"])
        #expect(second.revokedSerials == ["4aaa", "4bbb"])
        #expect(try RevocationList.load(path: listPath, authorityPath: authorityPath) == second)
        #expect(try await crlNumber(listPath) > firstNumber)

        // A list another CA signed is not silently replaced.
        let stranger = try CertificateAuthority.create(commonName: "Replaced CA")
        let error = #expect(throws: RevocationListError.self) {
            try stranger.updateRevocationList(at: listPath, revoking: ["4ccc"])
        }
        #expect(error?.kind == .notSignedByAuthority)
        #expect(try RevocationList.load(path: listPath, authorityPath: authorityPath) == second)
    }

    @Test func testPKIRevocationsAccumulatePerJurisdictionEvenWhenConcurrent() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-crl")
        defer { scratch.remove() }
        let pki = try TestPKI(in: scratch.path)
        let clients = try (0..<6).map { try pki.client("party\($0)") }
        let pinghuClient = try pki.client("guangchen-town", jurisdiction: "pinghu")

        let paths = try await withThrowingTaskGroup(of: String.self) { group in
            for files in clients { group.addTask { try pki.revoke(files, jurisdiction: "jinshan") } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(paths == [scratch.path + "/jinshan/ca.crl"])
        try pki.revoke(pinghuClient, jurisdiction: "pinghu")

        let jinshan = try RevocationList.load(path: pki.revocationListPath(jurisdiction: "jinshan"),
                                              authorityPath: pki.jinshanAuthority)
        let expected = Set(try clients.map { try pki.serialNumber(ofCertificateFile: $0.certificate) })
        #expect(jinshan.revokedSerials == expected)
        let pinghu = try RevocationList.load(path: pki.revocationListPath(jurisdiction: "pinghu"),
                                             authorityPath: pki.pinghuAuthority)
        #expect(pinghu.revokedSerials == [try pki.serialNumber(ofCertificateFile: pinghuClient.certificate)])
    }
}

/// The cRLNumber of a CRL file, as `openssl crl -crlnumber` reads it.
private func crlNumber(_ path: String) async throws -> UInt64 {
    let result = try await runOpenSSL(["crl", "-in", path, "-noout", "-crlnumber"])
    let digits = result.output.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    return try #require(UInt64(digits.replacingOccurrences(of: "0x", with: ""), radix: 16), "\(result.output)\(result.errors)")
}
