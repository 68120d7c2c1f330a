internal import COpenSSL
import Foundation

/// Builds one X.509 v2 CRL signed by a CA with SHA-256: the issuer's name, thisUpdate and
/// nextUpdate, one entry per serial (revoked at `thisUpdate`), an authorityKeyIdentifier
/// and a cRLNumber.
struct RevocationListBuilder {
    /// Serials in `SerialNumberFormat`'s canonical form.
    var serials: [String]
    var thisUpdate: Date
    var nextUpdate: Date
    /// Must grow from one list to the next of the same CA (RFC 5280, 5.2.3).
    var number: UInt64

    func build(issuer: X509Handle, key: PrivateKeyHandle) throws -> RevocationListHandle {
        let crl = try RevocationListHandle()
        let pointer = crl.pointer
        guard X509_CRL_set_version(pointer, Int(X509_CRL_VERSION_2)) == 1 else { throw OpenSSLError.drain("X509_CRL_set_version") }
        guard X509_CRL_set_issuer_name(pointer, X509_get_subject_name(issuer.pointer)) == 1 else {
            throw OpenSSLError.drain("X509_CRL_set_issuer_name")
        }
        try withTime(thisUpdate) { time in
            guard X509_CRL_set1_lastUpdate(pointer, time) == 1 else { throw OpenSSLError.drain("X509_CRL_set1_lastUpdate") }
            for serial in serials { try addRevoked(serial, at: time, to: pointer) }
        }
        try withTime(nextUpdate) { time in
            guard X509_CRL_set1_nextUpdate(pointer, time) == 1 else { throw OpenSSLError.drain("X509_CRL_set1_nextUpdate") }
        }
        guard muster_X509_CRL_add_ext_conf(pointer, issuer.pointer, NID_authority_key_identifier, "keyid:always") == 1 else {
            throw OpenSSLError.drain("X509V3_EXT_conf_nid(authorityKeyIdentifier)")
        }
        try addNumber(to: pointer)
        guard X509_CRL_sort(pointer) == 1 else { throw OpenSSLError.drain("X509_CRL_sort") }
        guard X509_CRL_sign(pointer, key.pointer, EVP_sha256()) > 0 else { throw OpenSSLError.drain("X509_CRL_sign") }
        return crl
    }

    private func addRevoked(_ serial: String, at time: UnsafeMutablePointer<ASN1_TIME>, to crl: OpaquePointer) throws {
        guard let entry = X509_REVOKED_new() else { throw OpenSSLError.drain("X509_REVOKED_new") }
        let integer: UnsafeMutablePointer<ASN1_INTEGER>
        do {
            integer = try SerialNumberFormat.asn1Integer(canonical: serial)
        } catch {
            X509_REVOKED_free(entry)
            throw error
        }
        defer { ASN1_INTEGER_free(integer) }
        guard X509_REVOKED_set_serialNumber(entry, integer) == 1, X509_REVOKED_set_revocationDate(entry, time) == 1,
              X509_CRL_add0_revoked(crl, entry) == 1 else {
            X509_REVOKED_free(entry)
            throw OpenSSLError.drain("X509_CRL_add0_revoked(\(serial))")
        }
    }

    private func addNumber(to crl: OpaquePointer) throws {
        guard let integer = ASN1_INTEGER_new() else { throw OpenSSLError.drain("ASN1_INTEGER_new") }
        defer { ASN1_INTEGER_free(integer) }
        guard ASN1_INTEGER_set_uint64(integer, number) == 1,
              X509_CRL_add1_ext_i2d(crl, NID_crl_number, UnsafeMutableRawPointer(integer), 0, 0) == 1 else {
            throw OpenSSLError.drain("X509_CRL_add1_ext_i2d(cRLNumber)")
        }
    }

    /// Runs `body` with an ASN1_TIME set to `date` (which may be in the past).
    private func withTime(_ date: Date, _ body: (UnsafeMutablePointer<ASN1_TIME>) throws -> Void) throws {
        guard let time = ASN1_TIME_set(nil, time_t(date.timeIntervalSince1970.rounded(.down))) else {
            throw OpenSSLError.drain("ASN1_TIME_set")
        }
        defer { ASN1_TIME_free(time) }
        try body(time)
    }
}
