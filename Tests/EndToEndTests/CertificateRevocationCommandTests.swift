import Foundation
import MusterNet
import MusterTestSupport
import Testing

// `muster certs revoke`: what an operator runs to take a party's certificate away.

@Suite("muster certs revoke")
struct CertificateRevocationCommandTests {
    @Test func revokingAddsEachSerialToTheJurisdictionsSignedList() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-revoke")
        defer { scratch.remove() }
        let pki = try TestPKI(in: scratch.path)
        let first = try pki.client("langxia-town")
        let second = try pki.client("shanta-village-grid")
        let listPath = scratch.path + "/jinshan/ca.crl"

        let revoked = try await revoke(first, jurisdiction: "jinshan", in: scratch.path)
        let firstSerial = try pki.serialNumber(ofCertificateFile: first.certificate)
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(revoked.output.contains("revoked serial \(firstSerial) (muster://jinshan/langxia-town)"), "\(revoked.output)")
        #expect(revoked.output.contains(listPath) && revoked.output.contains("muster reload"), "\(revoked.output)")

        #expect(try await revoke(second, jurisdiction: "jinshan", in: scratch.path).status == 0)
        let again = try await revoke(first, jurisdiction: "jinshan", in: scratch.path)
        #expect(again.status == 0 && again.output.contains("already revoked"), "\(again.output)")

        let list = try RevocationList.load(path: listPath, authorityPath: pki.jinshanAuthority)
        #expect(list.revokedSerials == [firstSerial, try pki.serialNumber(ofCertificateFile: second.certificate)])
        #expect(list.authorityFingerprint == (try CertificateFingerprint.sha256(ofPEMFile: pki.jinshanAuthority))[0])
    }

    @Test func certificateOfAnotherJurisdictionIsRefused() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-revoke")
        defer { scratch.remove() }
        let pki = try TestPKI(in: scratch.path)
        let jinshanParty = try pki.client("langxia-town")

        let result = try await revoke(jinshanParty, jurisdiction: "pinghu", in: scratch.path)
        #expect(result.status != 0)
        #expect(result.output.contains("was not issued by the pinghu CA"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/pinghu/ca.crl"))
    }

    @Test func listThatIsNotACRLIsLeftAloneAndNamed() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-revoke")
        defer { scratch.remove() }
        let pki = try TestPKI(in: scratch.path)
        let listPath = try scratch.write("not a CRL\n", to: "jinshan/ca.crl")

        let result = try await revoke(try pki.client("langxia-town"), jurisdiction: "jinshan", in: scratch.path)
        #expect(result.status != 0)
        #expect(result.output.contains("the file \(listPath) is not a certificate revocation list"), "\(result.output)")
        #expect(try String(contentsOfFile: listPath, encoding: .utf8) == "not a CRL\n")
    }

    private func revoke(_ files: ClientFiles, jurisdiction: String, in directory: String) async throws -> ProgramRun {
        try await runMuster(["certs", "revoke", "--certificate", files.certificate, "--jurisdiction", jurisdiction, "--directory", directory])
    }
}
