internal import COpenSSL
import Foundation

/// The one text form of certificate serial numbers that `PeerCertificate.serialNumber`,
/// `RevocationList.revokedSerials` and the CLI share: lowercase hex without leading zeros
/// ("0" for zero, a leading "-" for the negative serials some old CAs issued).
///
/// `openssl x509 -serial` prints whole bytes in uppercase, so a serial whose first byte is
/// below 0x10 shows there with one extra leading "0"; `canonical(_:)` accepts that form
/// (and colons, and a "serial=" prefix) and maps it to this one.
enum SerialNumberFormat {
    /// The canonical text of an ASN.1 INTEGER, or nil if OpenSSL cannot convert it.
    static func text(of integer: UnsafePointer<ASN1_INTEGER>?) -> String? {
        guard let integer, let number = ASN1_INTEGER_to_BN(integer, nil) else {
            ERR_clear_error()
            return nil
        }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else {
            ERR_clear_error()
            return nil
        }
        defer { muster_OPENSSL_free(hex) }
        return canonical(String(cString: hex))
    }

    /// `text` in canonical form, or nil if it is not a hexadecimal serial number.
    /// Accepts "serial=0A1B", "0a:1b", "  A1B\n", "-0a".
    static func canonical(_ text: String) -> String? {
        var digits = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased())
        if digits.hasPrefix("serial=") { digits = digits.dropFirst("serial=".count) }
        let negative = digits.hasPrefix("-")
        if negative { digits = digits.dropFirst() }
        let hex = digits.filter { $0 != ":" }
        guard !hex.isEmpty, hex.allSatisfy("0123456789abcdef".contains) else { return nil }
        let significant = hex.drop { $0 == "0" }
        if significant.isEmpty { return "0" }
        return (negative ? "-" : "") + significant
    }

    /// A new ASN.1 INTEGER (the caller frees it with ASN1_INTEGER_free) for a serial in
    /// canonical form.
    static func asn1Integer(canonical serial: String) throws -> UnsafeMutablePointer<ASN1_INTEGER> {
        var number: OpaquePointer?
        guard BN_hex2bn(&number, serial) > 0, let number else { throw OpenSSLError.drain("BN_hex2bn(\(serial))") }
        defer { BN_free(number) }
        guard let integer = BN_to_ASN1_INTEGER(number, nil) else { throw OpenSSLError.drain("BN_to_ASN1_INTEGER") }
        return integer
    }
}
