import Foundation
import MusterTestSupport
import Testing
@testable import MusterNet

@Suite("Certificate fingerprints")
struct CertificateFingerprintTests {
    @Test func fingerprintIsOpenSSLsSHA256InLowercaseWithoutColons() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-fingerprint")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let path = try scratch.write(authority.certificate.certificatePEM, to: "ca.crt")

        let printed = try await runOpenSSL(["x509", "-noout", "-fingerprint", "-sha256", "-in", path]).output
        let expected = String(printed.split(separator: "=").last ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: "").lowercased()
        #expect(expected.count == 64, "\(printed)")
        #expect(try CertificateFingerprint.sha256(ofPEMFile: path) == [expected])
        #expect(try CertificateFingerprint.sha256(ofPEM: authority.certificate.certificatePEM) == expected)
        #expect(try CertificateSummary.read(pemFile: path).fingerprint == expected)
    }

    @Test func everyCertificateOfARolloverFileIsFingerprintedInOrder() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-fingerprint")
        defer { scratch.remove() }
        let old = try CertificateAuthority.create(commonName: "Jinshan CA 2025")
        let new = try CertificateAuthority.create(commonName: "Jinshan CA 2026")
        let path = try scratch.write("# Jinshan CAs during the rollover\n" + old.certificate.certificatePEM + "\n"
                                     + new.certificate.certificatePEM, to: "ca.crt")

        let fingerprints = try CertificateFingerprint.sha256(ofPEMFile: path)
        #expect(fingerprints == [try CertificateFingerprint.sha256(ofPEM: old.certificate.certificatePEM),
                                 try CertificateFingerprint.sha256(ofPEM: new.certificate.certificatePEM)])
        #expect(fingerprints[0] != fingerprints[1])
    }

    @Test func missingEmptyAndDamagedFilesAreRefusedByName() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-fingerprint")
        defer { scratch.remove() }
        let authority = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let missing = scratch.file("missing.crt")
        let notFound = #expect(throws: CertificateFileError.self) { try CertificateFingerprint.sha256(ofPEMFile: missing) }
        #expect(notFound?.path == missing && notFound?.errno == ENOENT)

        for (name, text) in [("empty.crt", ""), ("key.pem", authority.certificate.privateKeyPEM), ("text.crt", "hello\n")] {
            let path = try scratch.write(text, to: name)
            let error = #expect(throws: CertificateFileError.self) { try CertificateFingerprint.sha256(ofPEMFile: path) }
            #expect(error?.path == path)
            #expect(error?.description.contains("holds no PEM certificate") == true, "\(String(describing: error))")
        }

        var lines = authority.certificate.certificatePEM.split(separator: "\n").map(String.init)
        lines[3] = String(repeating: "!", count: lines[3].count)
        let damaged = try scratch.write(lines.joined(separator: "\n") + "\n", to: "damaged.crt")
        let error = #expect(throws: CertificateFileError.self) { try CertificateFingerprint.sha256(ofPEMFile: damaged) }
        #expect(error?.description.contains("damaged") == true, "\(String(describing: error))")
    }
}
