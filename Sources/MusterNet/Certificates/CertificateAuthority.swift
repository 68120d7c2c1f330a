public import Foundation

/// A certificate authority: a CA certificate and its key, able to issue leaf certificates.
/// Keys are EC P-256, signatures ECDSA with SHA-256, serials 16 random bytes.
public struct CertificateAuthority: Sendable {
    /// The CA certificate and its private key.
    public let certificate: PEMCertificate

    private init(certificate: PEMCertificate) {
        self.certificate = certificate
    }

    /// New self-signed CA (basicConstraints critical CA:TRUE, keyUsage keyCertSign+cRLSign,
    /// subjectKeyIdentifier), valid from five minutes ago for `days` days.
    public static func create(commonName: String, organization: String? = nil, validFor days: Int = 3650) throws -> CertificateAuthority {
        let now = Date()
        let builder = CertificateBuilder(
            commonName: commonName, organization: organization, usage: .certificateAuthority,
            notBefore: now.addingTimeInterval(-300), notAfter: now.addingTimeInterval(Double(days) * 86400))
        return CertificateAuthority(certificate: try builder.build())
    }

    /// Loads an existing CA from PEM files. The key may be PKCS#8 or traditional but not
    /// encrypted; it must match the certificate, and the certificate must be a CA.
    public init(certificatePath: String, keyPath: String) throws {
        let certificateText = try CertificateFiles.read(certificatePath, what: "CA certificate file")
        let keyText = try CertificateFiles.read(keyPath, what: "CA private key file")
        let certificate: X509Handle
        let key: PrivateKeyHandle
        do {
            certificate = try X509Handle(pem: certificateText)
        } catch let error as OpenSSLError {
            throw CertificateFileError(path: certificatePath, action: "load the CA certificate", reason: error.description,
                                       remedy: "Give a PEM file that starts with -----BEGIN CERTIFICATE-----.")
        }
        do {
            key = try PrivateKeyHandle(pem: keyText)
        } catch let error as OpenSSLError {
            throw CertificateFileError(path: keyPath, action: "load the CA private key", reason: error.description,
                                       remedy: "Give an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----).")
        }
        guard certificate.isCertificateAuthority else {
            throw CertificateFileError(path: certificatePath, action: "use the CA certificate",
                                       reason: "it is not a CA certificate (no basicConstraints CA:TRUE)",
                                       remedy: "Give the authority's certificate, not a leaf certificate.")
        }
        guard certificate.matches(key) else {
            let detail = OpenSSLError.drain("X509_check_private_key")
            throw CertificateFileError(path: keyPath, action: "use the CA private key",
                                       reason: "it does not belong to \(certificatePath) (\(detail))",
                                       remedy: "Give the key that was generated with this CA certificate.")
        }
        self.certificate = PEMCertificate(certificatePEM: try certificate.pem(), privateKeyPEM: try key.pem())
    }

    /// Issues a certificate signed by this CA: basicConstraints CA:FALSE, keyUsage
    /// digitalSignature, extendedKeyUsage serverAuth or clientAuth per `usage`,
    /// authorityKeyIdentifier, subjectKeyIdentifier and a subjectAltName holding every name
    /// given. `.certificateAuthority` issues an intermediate CA (CA:TRUE, pathlen:0).
    /// The validity dates are taken as given, even if already past.
    public func issue(commonName: String, usage: CertificateUsage, uriNames: [String] = [], dnsNames: [String] = [],
                      ipAddresses: [String] = [], notBefore: Date = Date().addingTimeInterval(-300),
                      notAfter: Date = Date().addingTimeInterval(825 * 86400)) throws -> PEMCertificate {
        let issuer = (certificate: try X509Handle(pem: certificate.certificatePEM),
                      key: try PrivateKeyHandle(pem: certificate.privateKeyPEM))
        let builder = CertificateBuilder(
            commonName: commonName, organization: nil, usage: usage, uriNames: uriNames, dnsNames: dnsNames,
            ipAddresses: ipAddresses, notBefore: notBefore, notAfter: notAfter)
        return try builder.build(issuer: issuer)
    }
}
