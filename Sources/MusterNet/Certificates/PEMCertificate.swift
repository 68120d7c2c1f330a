/// A certificate and its private key, both PEM-encoded.
public struct PEMCertificate: Sendable, Equatable {
    public let certificatePEM: String
    /// Unencrypted PKCS#8 ("-----BEGIN PRIVATE KEY-----").
    public let privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// The certificate's serial number: lowercase hex without leading zeros, the form of
    /// `PeerCertificate.serialNumber` and `RevocationList.revokedSerials`.
    public var serialNumber: String {
        get throws { try CertificateSummary(pem: certificatePEM).serialNumber }
    }

    /// Writes both files, creating parent directories and replacing existing files. The key
    /// file is created with mode 0600 from the start (never readable by others, even
    /// briefly), the certificate with 0644; each is written to a temporary file then renamed.
    public func write(certificateTo certificatePath: String, keyTo keyPath: String) throws {
        try CertificateFiles.write(privateKeyPEM, to: keyPath, mode: 0o600, what: "private key file")
        try CertificateFiles.write(certificatePEM, to: certificatePath, mode: 0o644, what: "certificate file")
    }
}
