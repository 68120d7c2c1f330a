/// What a certificate says about itself: names, serial number and fingerprint, in the same
/// forms as `PeerCertificate` (so a file's serial can be compared with a peer's).
public struct CertificateSummary: Sendable, Equatable {
    /// Subject distinguished name, one line.
    public let subject: String
    /// Issuer distinguished name, one line.
    public let issuer: String
    /// Serial number: lowercase hex without leading zeros.
    public let serialNumber: String
    /// SHA-256 fingerprint of the DER encoding, lowercase hex.
    public let fingerprint: String
    /// Every URI subject-alternative name, in certificate order.
    public let uriNames: [String]

    /// Summarizes the first certificate of a PEM text.
    public init(pem: String) throws {
        self.init(try X509Handle(pem: pem))
    }

    init(_ certificate: X509Handle) {
        subject = X509Fields.subject(certificate.pointer)
        issuer = X509Fields.issuer(certificate.pointer)
        serialNumber = X509Fields.serialNumber(certificate.pointer)
        fingerprint = X509Fields.sha256Fingerprint(certificate.pointer)
        uriNames = X509Fields.uriNames(certificate.pointer)
    }

    /// Summarizes the first certificate of a PEM file; throws `CertificateFileError` naming
    /// the file when it is missing, damaged or holds no certificate.
    public static func read(pemFile path: String) throws -> CertificateSummary {
        CertificateSummary(try X509Handle.all(inFile: path, what: "certificate file")[0])
    }
}
