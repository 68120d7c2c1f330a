internal import COpenSSL
import Foundation

/// Builds one X.509 v3 certificate with a fresh P-256 key, signed with SHA-256 either by
/// itself (`issuer == nil`) or by an issuing CA.
struct CertificateBuilder {
    var commonName: String
    var organization: String?
    var usage: CertificateUsage
    var uriNames: [String] = []
    var dnsNames: [String] = []
    var ipAddresses: [String] = []
    var notBefore: Date
    var notAfter: Date

    /// Creates the key and certificate and returns both as PEM.
    func build(issuer: (certificate: X509Handle, key: PrivateKeyHandle)? = nil) throws -> PEMCertificate {
        let key = try PrivateKeyHandle.generateP256()
        let certificate = try X509Handle()
        let x509 = certificate.pointer

        guard X509_set_version(x509, Int(X509_VERSION_3)) == 1 else { throw OpenSSLError.drain("X509_set_version") }
        try setRandomSerial(x509)
        try setSubject(x509)
        let issuerName = X509_get_subject_name(issuer?.certificate.pointer ?? x509)
        guard X509_set_issuer_name(x509, issuerName) == 1 else { throw OpenSSLError.drain("X509_set_issuer_name") }
        try setTime(X509_getm_notBefore(x509), notBefore)
        try setTime(X509_getm_notAfter(x509), notAfter)
        guard X509_set_pubkey(x509, key.pointer) == 1 else { throw OpenSSLError.drain("X509_set_pubkey") }

        let issuerCertificate = issuer?.certificate.pointer ?? x509
        try addExtension(x509, issuerCertificate, NID_basic_constraints, usage.basicConstraints(selfSigned: issuer == nil))
        try addExtension(x509, issuerCertificate, NID_key_usage, usage.keyUsage)
        if let extendedKeyUsage = usage.extendedKeyUsage {
            try addExtension(x509, issuerCertificate, NID_ext_key_usage, extendedKeyUsage)
        }
        try addExtension(x509, issuerCertificate, NID_subject_key_identifier, "hash")
        if issuer != nil {
            // keyid of the CA's subjectKeyIdentifier; issuer name + serial if it has none.
            try addExtension(x509, issuerCertificate, NID_authority_key_identifier, "keyid,issuer")
        }
        try addSubjectAlternativeNames(x509)

        guard X509_sign(x509, issuer?.key.pointer ?? key.pointer, EVP_sha256()) > 0 else {
            throw OpenSSLError.drain("X509_sign")
        }
        return PEMCertificate(certificatePEM: try certificate.pem(), privateKeyPEM: try key.pem())
    }

    /// 16 random bytes, top bit clear (positive), second bit set (non-zero, fixed length).
    private func setRandomSerial(_ x509: OpaquePointer) throws {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw OpenSSLError.drain("RAND_bytes") }
        bytes[0] = (bytes[0] & 0x7F) | 0x40
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw OpenSSLError.drain("BN_bin2bn") }
        defer { BN_free(number) }
        guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(x509)) != nil else {
            throw OpenSSLError.drain("BN_to_ASN1_INTEGER")
        }
    }

    private func setSubject(_ x509: OpaquePointer) throws {
        let name = X509_get_subject_name(x509)
        // Most significant first: O, then CN.
        let entries = (organization.map { [(NID_organizationName, $0)] } ?? []) + [(NID_commonName, commonName)]
        for (nid, value) in entries {
            let bytes = Array(value.utf8)
            guard X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, 0) == 1 else {
                throw OpenSSLError.drain("X509_NAME_add_entry_by_NID")
            }
        }
    }

    /// Sets an ASN1_TIME to an explicit instant (which may be in the past).
    private func setTime(_ time: UnsafeMutablePointer<ASN1_TIME>?, _ date: Date) throws {
        let seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        guard ASN1_TIME_set(time, seconds) != nil else { throw OpenSSLError.drain("ASN1_TIME_set") }
    }

    private func addExtension(_ x509: OpaquePointer, _ issuer: OpaquePointer, _ nid: Int32, _ value: String) throws {
        guard muster_X509_add_ext_conf(x509, issuer, nid, value) == 1 else {
            throw OpenSSLError.drain("X509V3_EXT_conf_nid(\(String(cString: OBJ_nid2sn(nid))))")
        }
    }

    private func addSubjectAlternativeNames(_ x509: OpaquePointer) throws {
        let entries = uriNames.map { (GEN_URI, $0) } + dnsNames.map { (GEN_DNS, $0) } + ipAddresses.map { (GEN_IPADD, $0) }
        guard !entries.isEmpty else { return }
        guard let names = GENERAL_NAMES_new() else { throw OpenSSLError.drain("GENERAL_NAMES_new") }
        defer { GENERAL_NAMES_free(names) }
        for (type, value) in entries {
            guard muster_GENERAL_NAMES_add(names, type, value) == 1 else {
                throw OpenSSLError.drain("a2i_GENERAL_NAME(\(value))")
            }
        }
        guard X509_add1_ext_i2d(x509, NID_subject_alt_name, UnsafeMutableRawPointer(names), 0, UInt(X509V3_ADD_DEFAULT)) == 1 else {
            throw OpenSSLError.drain("X509_add1_ext_i2d(subjectAltName)")
        }
    }
}
