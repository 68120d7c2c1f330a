/// SHA-256 fingerprints of certificates: lowercase hex of the digest of the DER encoding,
/// the same value as `openssl x509 -noout -fingerprint -sha256` without colons, lowercased.
/// `PeerCertificate.anchorFingerprint` and `RevocationList.authorityFingerprint` use this form.
public enum CertificateFingerprint {
    /// The fingerprint of every certificate in a PEM file, in file order. A jurisdiction's CA
    /// file may hold several certificates (old and new CA during a rollover).
    ///
    /// Throws `CertificateFileError` when the file cannot be read, holds no PEM certificate,
    /// or holds a damaged one.
    public static func sha256(ofPEMFile path: String) throws -> [String] {
        try X509Handle.all(inFile: path, what: "certificate file").map { X509Fields.sha256Fingerprint($0.pointer) }
    }

    /// The fingerprint of the first certificate of a PEM text.
    public static func sha256(ofPEM text: String) throws -> String {
        let certificate = try X509Handle(pem: text)
        return withExtendedLifetime(certificate) { X509Fields.sha256Fingerprint(certificate.pointer) }
    }
}
