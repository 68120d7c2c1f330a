import ArgumentParser
import Foundation
import MusterNet

extension CertsCommand {
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke a party's certificate: add its serial number to the jurisdiction's CRL.",
            discussion: """
            Adds the certificate's serial number to DIR/JURISDICTION/ca.crl (creating it), keeps every serial \
            revoked there before, and signs the list with DIR/JURISDICTION/ca.key (valid 30 days; run again to \
            re-sign). The certificate must have been issued by DIR/JURISDICTION/ca.crt. A running broker \
            refuses the certificate after `muster reload` (or SIGHUP to the broker process).
            """)

        @Option(help: ArgumentHelp("The certificate to revoke (PEM).", valueName: "file"))
        var certificate: String

        @Option(help: ArgumentHelp("The jurisdiction whose CA issued the certificate.", valueName: "id"))
        var jurisdiction: String

        @Option(help: ArgumentHelp("Certificate directory (holds JURISDICTION/ca.crt and ca.key).", valueName: "dir"))
        var directory = ".muster/certs"

        @Option(help: ArgumentHelp("Days until the list's next update is due.", valueName: "days"))
        var validDays = 30

        func validate() throws {
            guard validDays > 0 else { throw ValidationError("--valid-days must be at least 1") }
        }

        func run() throws {
            let authorityPath = "\(directory)/\(jurisdiction)/ca.crt"
            let keyPath = "\(directory)/\(jurisdiction)/ca.key"
            let listPath = "\(directory)/\(jurisdiction)/ca.crl"
            let authority: CertificateAuthority
            let summary: CertificateSummary
            let certificatePEM: String
            do {
                authority = try CertificateAuthority(certificatePath: authorityPath, keyPath: keyPath)
                summary = try CertificateSummary.read(pemFile: certificate)
                certificatePEM = try String(contentsOfFile: certificate, encoding: .utf8)
            } catch {
                throw CommandFailure("cannot revoke \(certificate): \(error)")
            }
            guard try authority.hasIssued(certificatePEM: certificatePEM) else {
                throw CommandFailure("""
                    \(certificate) was not issued by the \(jurisdiction) CA (\(authorityPath)); its issuer is \
                    \(summary.issuer). Give --jurisdiction of the CA that issued it.
                    """)
            }
            let wasRevoked = (try? RevocationList.load(path: listPath, authorityPath: authorityPath))?
                .isRevoked(serialNumber: summary.serialNumber) ?? false
            let list: RevocationList
            do {
                list = try authority.updateRevocationList(at: listPath, revoking: [summary.serialNumber], validFor: validDays)
            } catch {
                throw CommandFailure("cannot update \(listPath): \(error)")
            }
            let who = summary.uriNames.isEmpty ? summary.subject : summary.uriNames.joined(separator: ", ")
            print(wasRevoked ? "already revoked serial \(summary.serialNumber) (\(who)); re-signed the list"
                             : "revoked serial \(summary.serialNumber) (\(who))")
            let until = list.nextUpdate.map { " until \($0.formatted(.iso8601))" } ?? ""
            print("wrote   \(listPath): \(list.revokedSerials.count) revoked serial(s), signed by \(keyPath), valid\(until)")
            print("A running broker refuses this certificate after `muster reload` (or SIGHUP to the broker process).")
        }
    }
}
