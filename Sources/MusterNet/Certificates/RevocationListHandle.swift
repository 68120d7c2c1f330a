internal import COpenSSL
import Foundation

/// Owns an OpenSSL `X509_CRL*` and frees it when released.
final class RevocationListHandle {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { X509_CRL_free(pointer) }

    /// An empty CRL, to be filled in.
    convenience init() throws {
        guard let crl = X509_CRL_new() else { throw OpenSSLError.drain("X509_CRL_new") }
        self.init(taking: crl)
    }

    /// Parses a CRL in PEM ("-----BEGIN X509 CRL-----") or DER form.
    convenience init(bytes: [UInt8]) throws {
        let isPEM = String(decoding: bytes.prefix(64 * 1024), as: UTF8.self).contains("-----BEGIN X509 CRL-----")
        let crl = try MemoryBIO.reading(bytes: bytes) { bio in
            isPEM ? PEM_read_bio_X509_CRL(bio, nil, nil, nil) : d2i_X509_CRL_bio(bio, nil)
        }
        guard let crl else { throw OpenSSLError.drain(isPEM ? "PEM_read_bio_X509_CRL" : "d2i_X509_CRL_bio") }
        self.init(taking: crl)
    }

    /// The CRL as PEM text.
    func pem() throws -> String {
        try MemoryBIO.writing("PEM_write_bio_X509_CRL") { PEM_write_bio_X509_CRL($0, pointer) }
    }

    /// Whether the CRL's signature verifies with `authority`'s public key.
    func isSigned(by authority: X509Handle) -> Bool {
        defer { ERR_clear_error() }
        guard let key = X509_get0_pubkey(authority.pointer) else { return false }
        return X509_CRL_verify(pointer, key) == 1
    }

    /// The issuer name the CRL states, one line.
    var issuer: String {
        guard let name = X509_CRL_get_issuer(pointer), let line = X509_NAME_oneline(name, nil, 0) else { return "" }
        defer { muster_OPENSSL_free(line) }
        return String(cString: line)
    }

    /// Serial numbers of every revoked entry, in `SerialNumberFormat`'s canonical form.
    var revokedSerials: Set<String> {
        var serials: Set<String> = []
        for index in 0..<muster_X509_CRL_revoked_count(pointer) {
            if let serial = SerialNumberFormat.text(of: muster_X509_CRL_revoked_serial(pointer, index)) {
                serials.insert(serial)
            }
        }
        return serials
    }

    var thisUpdate: Date? { Self.date(X509_CRL_get0_lastUpdate(pointer)) }
    var nextUpdate: Date? { Self.date(X509_CRL_get0_nextUpdate(pointer)) }

    /// The cRLNumber extension, or nil if the CRL has none (or it does not fit in 64 bits).
    var number: UInt64? {
        guard let integer = X509_CRL_get_ext_d2i(pointer, NID_crl_number, nil, nil) else { return nil }
        let value = integer.assumingMemoryBound(to: ASN1_INTEGER.self)
        defer { ASN1_INTEGER_free(value) }
        var number: UInt64 = 0
        guard ASN1_INTEGER_get_uint64(&number, value) == 1 else {
            ERR_clear_error()
            return nil
        }
        return number
    }

    /// Whether this is a delta CRL, which lists only changes since a base CRL.
    var isDelta: Bool { X509_CRL_get_ext_by_NID(pointer, NID_delta_crl, -1) >= 0 }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else {
            ERR_clear_error()
            return nil
        }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
