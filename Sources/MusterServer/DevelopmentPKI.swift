import Foundation
import MusterNet
import MusterProtocol

/// Creates a development PKI for the parties file: one CA per jurisdiction, the broker's
/// certificate and one client certificate per party. Not for production: real
/// jurisdictions run their own CAs and issue `muster://JURISDICTION/PARTY` URI names.
public enum DevelopmentPKI {
    public struct Report: Sendable {
        public var created: [String] = []
        public var reused: [String] = []
        /// Revocation lists of replaced CAs (no longer meaningful: their CA is gone).
        public var removed: [String] = []
    }

    /// Layout: `DIR/JURISDICTION/ca.crt|ca.key`, `DIR/JURISDICTION/broker.crt|key` (each
    /// jurisdiction's broker, `muster://JURISDICTION/broker`), `DIR/server.crt|key` (this
    /// broker's, the same as its jurisdiction's broker.crt), `DIR/JURISDICTION/PARTY.crt|key`,
    /// and `DIR/ca-bundle.crt` with every CA.
    /// Existing CAs are reused (so issued certificates stay valid) unless `replace` is set.
    public static func create(parties: PartyDirectory, brokerJurisdiction: String, brokerHostNames: [String] = ["localhost"],
                              in directory: String, replace: Bool = false) throws -> Report {
        var report = Report()
        var authorities: [String: CertificateAuthority] = [:]
        for jurisdiction in parties.jurisdictions {
            let certificatePath = "\(directory)/\(jurisdiction.id)/ca.crt"
            let keyPath = "\(directory)/\(jurisdiction.id)/ca.key"
            if !replace, FileManager.default.fileExists(atPath: certificatePath) {
                authorities[jurisdiction.id] = try CertificateAuthority(certificatePath: certificatePath, keyPath: keyPath)
                report.reused.append(certificatePath)
                continue
            }
            // A new CA starts without revocations; the old CA's list would fail its signature check.
            let revocationListPath = "\(directory)/\(jurisdiction.id)/ca.crl"
            if FileManager.default.fileExists(atPath: revocationListPath) {
                try FileManager.default.removeItem(atPath: revocationListPath)
                report.removed.append(revocationListPath)
            }
            let name = jurisdiction.name.isEmpty ? jurisdiction.id : jurisdiction.name
            let authority = try CertificateAuthority.create(commonName: "\(name) development CA", organization: "Muster \(jurisdiction.id)")
            try authority.certificate.write(certificateTo: certificatePath, keyTo: keyPath)
            authorities[jurisdiction.id] = authority
            report.created.append(certificatePath)
        }
        guard authorities[brokerJurisdiction] != nil else {
            throw TLSSetupError(message: "the broker's jurisdiction '\(brokerJurisdiction)' is not in the parties file")
        }
        // Each jurisdiction's broker: muster://JURISDICTION/broker, to serve and to link to peers.
        // This broker's own is also server.crt, the file muster.yaml names by default.
        for jurisdiction in parties.jurisdictions {
            guard let authority = authorities[jurisdiction.id] else { continue }
            let broker = try authority.issue(commonName: "muster broker (\(jurisdiction.id))", usage: .broker,
                                             uriNames: [PartyIdentity.broker(of: jurisdiction.id).uri],
                                             dnsNames: brokerHostNames, ipAddresses: ["127.0.0.1", "::1"])
            try broker.write(certificateTo: "\(directory)/\(jurisdiction.id)/broker.crt", keyTo: "\(directory)/\(jurisdiction.id)/broker.key")
            report.created.append("\(directory)/\(jurisdiction.id)/broker.crt")
            if jurisdiction.id == brokerJurisdiction {
                try broker.write(certificateTo: "\(directory)/server.crt", keyTo: "\(directory)/server.key")
                report.created.append("\(directory)/server.crt")
            }
        }
        for party in parties.parties {
            guard let authority = authorities[party.jurisdiction] else { continue }
            let certificate = try authority.issue(commonName: party.name.isEmpty ? party.id : party.name, usage: .client,
                                                  uriNames: [party.identity.uri])
            try certificate.write(certificateTo: "\(directory)/\(party.jurisdiction)/\(party.id).crt",
                                  keyTo: "\(directory)/\(party.jurisdiction)/\(party.id).key")
            report.created.append("\(directory)/\(party.jurisdiction)/\(party.id).crt")
        }
        let bundle = parties.jurisdictions.compactMap { authorities[$0.id]?.certificate.certificatePEM }.joined()
        try Data(bundle.utf8).write(to: URL(fileURLWithPath: "\(directory)/ca-bundle.crt"))
        report.created.append("\(directory)/ca-bundle.crt")
        return report
    }
}
