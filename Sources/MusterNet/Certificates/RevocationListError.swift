/// A certificate revocation list that cannot be used, said so that the user can fix it.
/// (A CRL or CA file that cannot be read at all throws `CertificateFileError` instead.)
public struct RevocationListError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file is neither a PEM nor a DER CRL, or it is damaged.
        case notARevocationList
        /// No certificate in the CA file signed the CRL.
        case notSignedByAuthority
        /// A delta CRL (changes since a base CRL), which Muster does not combine.
        case deltaRevocationList
        /// A serial number to revoke is not hexadecimal.
        case invalidSerialNumber
    }

    public let kind: Kind
    /// What is wrong and what to do, in one or two sentences.
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func notARevocationList(_ path: String, detail: String) -> RevocationListError {
        RevocationListError(kind: .notARevocationList, message: """
            the file \(path) is not a certificate revocation list (\(detail)); give the CRL your \
            jurisdiction's CA published (PEM "-----BEGIN X509 CRL-----" or DER), or create one with `muster certs revoke`
            """)
    }

    /// `authority` names the CA that should have signed it: "the CA in PATH".
    static func notSigned(_ path: String, authority: String, issuer: String, remedy: String) -> RevocationListError {
        RevocationListError(kind: .notSignedByAuthority, message: """
            the CRL \(path) is not signed by \(authority) (it names \(issuer.isEmpty ? "no issuer" : issuer) \
            as its issuer); \(remedy)
            """)
    }

    static func delta(_ path: String) -> RevocationListError {
        RevocationListError(kind: .deltaRevocationList, message: """
            the CRL \(path) is a delta CRL (it lists only changes since a base CRL); give the jurisdiction's full CRL
            """)
    }

    static func invalidSerial(_ serial: String) -> RevocationListError {
        RevocationListError(kind: .invalidSerialNumber, message: """
            '\(serial)' is not a certificate serial number; give it in hexadecimal, as \
            `openssl x509 -noout -serial -in CERTIFICATE` prints it
            """)
    }
}
