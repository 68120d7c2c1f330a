internal import COpenSSL

/// What the broker learned from a peer's verified certificate and the chain that vouched for it.
///
/// The TLS context trusts every jurisdiction's CA at once, so a handshake only proves that
/// *some* trusted CA issued the certificate. Compare `anchorFingerprint` with the claimed
/// jurisdiction's CA fingerprints (`CertificateFingerprint.sha256(ofPEMFile:)`) before
/// believing the URI name, and check `serialNumber` against that jurisdiction's
/// `RevocationList` when `issuerFingerprint` equals its `authorityFingerprint`.
/// Fields that could not be read are empty, which never equals a real fingerprint.
public struct PeerCertificate: Sendable, Equatable {
    /// Subject distinguished name, one line (for logs).
    public let subject: String
    /// Every URI subject-alternative name, in certificate order.
    public let uriNames: [String]
    /// Serial number: lowercase hex without leading zeros (`openssl x509 -serial`, lowercased).
    public let serialNumber: String
    /// Issuer distinguished name, one line, in the same form as `subject`.
    public let issuer: String
    /// SHA-256 fingerprint of the last certificate of the verified chain: the trust anchor
    /// (a CA from the trusted files) that vouched for this certificate.
    public let anchorFingerprint: String
    /// SHA-256 fingerprint of the certificate that signed this one: the next one up the
    /// verified chain, which is the anchor itself unless an intermediate CA issued it.
    public let issuerFingerprint: String

    public init(subject: String, uriNames: [String], serialNumber: String = "", issuer: String = "",
                anchorFingerprint: String = "", issuerFingerprint: String = "") {
        self.subject = subject
        self.uriNames = uriNames
        self.serialNumber = serialNumber
        self.issuer = issuer
        self.anchorFingerprint = anchorFingerprint
        self.issuerFingerprint = issuerFingerprint
    }

    /// Reads the verified peer certificate of a finished handshake. The chain fingerprints are
    /// empty when OpenSSL kept no verified chain (a resumed session does not carry one).
    static func read(from ssl: OpaquePointer) -> PeerCertificate? {
        guard let certificate = SSL_get0_peer_certificate(ssl) else { return nil }
        // chain[0] is the peer's certificate, the last one the anchor from the trust store.
        let chain = SSL_get0_verified_chain(ssl)
        let count = muster_X509_stack_count(chain)
        let fingerprint = { (index: Int32) -> String in
            guard index >= 0, index < count, let member = muster_X509_stack_value(chain, index) else { return "" }
            return X509Fields.sha256Fingerprint(member)
        }
        return PeerCertificate(
            subject: X509Fields.subject(certificate), uriNames: X509Fields.uriNames(certificate),
            serialNumber: X509Fields.serialNumber(certificate), issuer: X509Fields.issuer(certificate),
            anchorFingerprint: fingerprint(count - 1),
            issuerFingerprint: fingerprint(count > 1 ? 1 : count - 1))
    }
}
