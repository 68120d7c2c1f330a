/// What a certificate is for; decides its basicConstraints, keyUsage and extendedKeyUsage.
public enum CertificateUsage: Sendable {
    /// `broker`: a broker's own certificate, for serving its clients and for connecting to its
    /// peers (federation links), so both serverAuth and clientAuth.
    case certificateAuthority, server, client, broker

    /// basicConstraints in openssl.cnf syntax. Issued (intermediate) CAs may not issue further CAs.
    func basicConstraints(selfSigned: Bool) -> String {
        switch self {
        case .certificateAuthority: selfSigned ? "critical,CA:TRUE" : "critical,CA:TRUE,pathlen:0"
        case .server, .client, .broker: "critical,CA:FALSE"
        }
    }

    /// keyUsage in openssl.cnf syntax. EC keys sign (ECDHE), they never encipher keys (RFC 5480).
    var keyUsage: String {
        switch self {
        case .certificateAuthority: "critical,keyCertSign,cRLSign"
        case .server, .client, .broker: "critical,digitalSignature"
        }
    }

    /// extendedKeyUsage in openssl.cnf syntax, or nil for CAs.
    var extendedKeyUsage: String? {
        switch self {
        case .certificateAuthority: nil
        case .server: "serverAuth"
        case .client: "clientAuth"
        case .broker: "serverAuth,clientAuth"
        }
    }
}
