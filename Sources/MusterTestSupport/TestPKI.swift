import Foundation
public import MusterNet
import Synchronization

/// Certificates a test creates for itself: three jurisdictions' CAs, a broker certificate,
/// and client certificates (valid, expired, from an unknown CA, without a Muster identity),
/// and revocation lists. Safe to use from several threads at once: every certificate gets
/// files of its own, and revocations of one PKI happen one at a time.
public struct TestPKI: Sendable {
    public let directory: String
    public let jinshanAuthority: String
    public let pinghuAuthority: String
    /// A third jurisdiction's CA (Jiashan), for tests of more than two linked brokers.
    public let jiashanAuthority: String
    public let serverCertificate: String
    public let serverKey: String
    /// Every jurisdiction's CA in one file: what clients trust for a broker of any.
    public let authorityBundle: String
    /// File base names handed out so far, and the lock revocations hold.
    private let bookkeeping = Bookkeeping()

    public init(in directory: String) throws {
        self.directory = directory
        let jinshan = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let pinghu = try CertificateAuthority.create(commonName: "Pinghu test CA")
        let jiashan = try CertificateAuthority.create(commonName: "Jiashan test CA")
        jinshanAuthority = "\(directory)/jinshan/ca.crt"
        pinghuAuthority = "\(directory)/pinghu/ca.crt"
        jiashanAuthority = "\(directory)/jiashan/ca.crt"
        try jinshan.certificate.write(certificateTo: jinshanAuthority, keyTo: "\(directory)/jinshan/ca.key")
        try pinghu.certificate.write(certificateTo: pinghuAuthority, keyTo: "\(directory)/pinghu/ca.key")
        try jiashan.certificate.write(certificateTo: jiashanAuthority, keyTo: "\(directory)/jiashan/ca.key")
        serverCertificate = "\(directory)/server.crt"
        serverKey = "\(directory)/server.key"
        try jinshan.issue(commonName: "test broker", usage: .server, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            .write(certificateTo: serverCertificate, keyTo: serverKey)
        authorityBundle = "\(directory)/ca-bundle.crt"
        try [jinshanAuthority, pinghuAuthority, jiashanAuthority].map { try String(contentsOfFile: $0, encoding: .utf8) }.joined()
            .write(toFile: authorityBundle, atomically: true, encoding: .utf8)
    }

    /// A broker certificate `muster://JURISDICTION/broker` from that jurisdiction's CA, for serving
    /// clients and for connecting to peers (`DIRECTORY/JURISDICTION/broker.crt`, `.key`).
    public func brokerCertificate(jurisdiction: String) throws -> ClientFiles {
        let authority = try CertificateAuthority(certificatePath: "\(directory)/\(jurisdiction)/ca.crt", keyPath: "\(directory)/\(jurisdiction)/ca.key")
        let certificate = try authority.issue(commonName: "\(jurisdiction) broker", usage: .broker, uriNames: ["muster://\(jurisdiction)/broker"],
                                              dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        return try write(certificate, base: "\(directory)/\(jurisdiction)/broker")
    }

    /// Issues a client certificate for `muster://JURISDICTION/PARTY` from that jurisdiction's CA,
    /// written to `DIRECTORY/JURISDICTION/PARTY.crt` and `.key` (`-expired` before the
    /// extension for expired ones). A party issued again gets new files (`PARTY-2.crt`, ...),
    /// so that files another caller is still using are never replaced under it.
    public func client(_ party: String, jurisdiction: String = "jinshan", expired: Bool = false,
                       uriNames: [String]? = nil) throws -> ClientFiles {
        let authority = try CertificateAuthority(certificatePath: "\(directory)/\(jurisdiction)/ca.crt", keyPath: "\(directory)/\(jurisdiction)/ca.key")
        let now = Date()
        let certificate = try authority.issue(
            commonName: party, usage: .client, uriNames: uriNames ?? ["muster://\(jurisdiction)/\(party)"],
            notBefore: expired ? now.addingTimeInterval(-2 * 86400) : now.addingTimeInterval(-300),
            notAfter: expired ? now.addingTimeInterval(-86400) : now.addingTimeInterval(86400))
        return try write(certificate, base: "\(directory)/\(jurisdiction)/\(party)\(expired ? "-expired" : "")")
    }

    /// A client certificate from a CA the broker does not trust.
    public func untrustedClient(_ party: String) throws -> ClientFiles {
        let stranger = try CertificateAuthority.create(commonName: "Unknown CA")
        let certificate = try stranger.issue(commonName: party, usage: .client, uriNames: ["muster://jinshan/\(party)"])
        return try write(certificate, base: "\(directory)/stranger/\(party)")
    }

    /// Revokes a client certificate: adds its serial number to `DIRECTORY/JURISDICTION/ca.crl`,
    /// signed by that jurisdiction's CA, keeping every serial revoked there before (the file
    /// is created on first use). Returns the CRL's path.
    @discardableResult
    public func revoke(_ files: ClientFiles, jurisdiction: String) throws -> String {
        let path = revocationListPath(jurisdiction: jurisdiction)
        let serial = try serialNumber(ofCertificateFile: files.certificate)
        try bookkeeping.revocations.withLock { _ in
            let authority = try CertificateAuthority(certificatePath: "\(directory)/\(jurisdiction)/ca.crt",
                                                     keyPath: "\(directory)/\(jurisdiction)/ca.key")
            _ = try authority.updateRevocationList(at: path, revoking: [serial])
        }
        return path
    }

    /// Where `revoke` keeps a jurisdiction's CRL (the file exists once something was revoked).
    public func revocationListPath(jurisdiction: String) -> String {
        "\(directory)/\(jurisdiction)/ca.crl"
    }

    /// The serial number of the first certificate in a PEM file, in the form of
    /// `PeerCertificate.serialNumber`.
    public func serialNumber(ofCertificateFile path: String) throws -> String {
        try CertificateSummary.read(pemFile: path).serialNumber
    }

    /// Writes a certificate and its key under a base name no other call of this PKI got.
    private func write(_ certificate: PEMCertificate, base: String) throws -> ClientFiles {
        let unique = bookkeeping.claim(base)
        try certificate.write(certificateTo: "\(unique).crt", keyTo: "\(unique).key")
        return ClientFiles(certificate: "\(unique).crt", key: "\(unique).key", authority: authorityBundle)
    }

    /// The broker's TLS configuration: trusts every jurisdiction's CA.
    public var serverTLS: TLSConfiguration {
        TLSConfiguration(certificatePath: serverCertificate, privateKeyPath: serverKey,
                         trustedAuthorityPaths: [jinshanAuthority, pinghuAuthority, jiashanAuthority])
    }
}

/// A client's certificate, key and the CA it uses to check the broker.
public struct ClientFiles: Sendable {
    public let certificate: String
    public let key: String
    public let authority: String

    public var tls: TLSConfiguration {
        TLSConfiguration(certificatePath: certificate, privateKeyPath: key, trustedAuthorityPaths: [authority])
    }

    /// (certificate, key)
    public var pair: (String, String) { (certificate, key) }
}

/// The shared, mutable part of a `TestPKI` (the struct's copies share it).
private final class Bookkeeping: Sendable {
    private let claimedBases = Mutex<Set<String>>([])
    /// Held while a CRL is read, extended and rewritten, so that no revocation is lost.
    let revocations = Mutex<Void>(())

    /// `base`, or `base-2`, `base-3`, ... : the first that was not claimed before.
    func claim(_ base: String) -> String {
        claimedBases.withLock { claimed in
            var candidate = base
            var number = 1
            while claimed.contains(candidate) {
                number += 1
                candidate = "\(base)-\(number)"
            }
            claimed.insert(candidate)
            return candidate
        }
    }
}
