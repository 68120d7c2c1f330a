import Foundation
public import MusterNet

/// Certificates a test creates for itself: two jurisdictions' CAs, a broker certificate,
/// and client certificates (valid, expired, from an unknown CA, without a Muster identity).
public struct TestPKI: Sendable {
    public let directory: String
    public let jinshanAuthority: String
    public let pinghuAuthority: String
    public let serverCertificate: String
    public let serverKey: String

    public init(in directory: String) throws {
        self.directory = directory
        let jinshan = try CertificateAuthority.create(commonName: "Jinshan test CA")
        let pinghu = try CertificateAuthority.create(commonName: "Pinghu test CA")
        jinshanAuthority = "\(directory)/jinshan/ca.crt"
        pinghuAuthority = "\(directory)/pinghu/ca.crt"
        try jinshan.certificate.write(certificateTo: jinshanAuthority, keyTo: "\(directory)/jinshan/ca.key")
        try pinghu.certificate.write(certificateTo: pinghuAuthority, keyTo: "\(directory)/pinghu/ca.key")
        serverCertificate = "\(directory)/server.crt"
        serverKey = "\(directory)/server.key"
        try jinshan.issue(commonName: "test broker", usage: .server, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            .write(certificateTo: serverCertificate, keyTo: serverKey)
    }

    /// Issues a client certificate for `muster://JURISDICTION/PARTY` from that jurisdiction's CA.
    public func client(_ party: String, jurisdiction: String = "jinshan", expired: Bool = false,
                       uriNames: [String]? = nil) throws -> ClientFiles {
        let authority = try CertificateAuthority(certificatePath: "\(directory)/\(jurisdiction)/ca.crt", keyPath: "\(directory)/\(jurisdiction)/ca.key")
        let now = Date()
        let certificate = try authority.issue(
            commonName: party, usage: .client, uriNames: uriNames ?? ["muster://\(jurisdiction)/\(party)"],
            notBefore: expired ? now.addingTimeInterval(-2 * 86400) : now.addingTimeInterval(-300),
            notAfter: expired ? now.addingTimeInterval(-86400) : now.addingTimeInterval(86400))
        let base = "\(directory)/\(jurisdiction)/\(party)\(expired ? "-expired" : "")"
        try certificate.write(certificateTo: "\(base).crt", keyTo: "\(base).key")
        return ClientFiles(certificate: "\(base).crt", key: "\(base).key", authority: jinshanAuthority)
    }

    /// A client certificate from a CA the broker does not trust.
    public func untrustedClient(_ party: String) throws -> ClientFiles {
        let stranger = try CertificateAuthority.create(commonName: "Unknown CA")
        let certificate = try stranger.issue(commonName: party, usage: .client, uriNames: ["muster://jinshan/\(party)"])
        let base = "\(directory)/stranger/\(party)"
        try certificate.write(certificateTo: "\(base).crt", keyTo: "\(base).key")
        return ClientFiles(certificate: "\(base).crt", key: "\(base).key", authority: jinshanAuthority)
    }

    /// The broker's TLS configuration: trusts both jurisdictions' CAs.
    public var serverTLS: TLSConfiguration {
        TLSConfiguration(certificatePath: serverCertificate, privateKeyPath: serverKey,
                         trustedAuthorityPaths: [jinshanAuthority, pinghuAuthority])
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
}
