internal import COpenSSL
import Glibc

/// Reads the fields Muster cares about from a borrowed OpenSSL `X509*` (never freed here).
enum X509Fields {
    /// Subject distinguished name, one line ("/O=.../CN=...").
    static func subject(_ certificate: OpaquePointer) -> String {
        oneLine(X509_get_subject_name(certificate))
    }

    /// Issuer distinguished name, one line, in the same form as `subject`.
    static func issuer(_ certificate: OpaquePointer) -> String {
        oneLine(X509_get_issuer_name(certificate))
    }

    /// The serial number in `SerialNumberFormat`'s canonical form.
    static func serialNumber(_ certificate: OpaquePointer) -> String {
        SerialNumberFormat.text(of: X509_get0_serialNumber(certificate)) ?? ""
    }

    /// Lowercase hex SHA-256 of the certificate's DER encoding (`openssl x509 -fingerprint
    /// -sha256`, without colons, lowercased).
    static func sha256Fingerprint(_ certificate: OpaquePointer) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else {
            ERR_clear_error()
            return ""
        }
        return hex(digest.prefix(Int(length)))
    }

    /// Every URI subject-alternative name, in certificate order.
    static func uriNames(_ certificate: OpaquePointer) -> [String] {
        var names: [String] = []
        var buffer = [CChar](repeating: 0, count: 1024)
        for index in 0..<muster_uri_san_count(certificate) {
            let length = muster_uri_san_copy(certificate, index, &buffer, Int32(buffer.count))
            if length >= 0 {
                names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        return names
    }

    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func oneLine(_ name: OpaquePointer?) -> String {
        guard let name, let line = X509_NAME_oneline(name, nil, 0) else { return "" }
        defer { muster_OPENSSL_free(line) }
        return String(cString: line)
    }
}
