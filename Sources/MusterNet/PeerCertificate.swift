internal import COpenSSL

/// What the broker learned from a peer's verified certificate.
public struct PeerCertificate: Sendable, Equatable {
    /// Subject distinguished name, one line (for logs).
    public let subject: String
    /// Every URI subject-alternative name, in certificate order.
    public let uriNames: [String]

    public init(subject: String, uriNames: [String]) {
        self.subject = subject
        self.uriNames = uriNames
    }

    /// Reads the verified peer certificate of a finished handshake.
    static func read(from ssl: OpaquePointer) -> PeerCertificate? {
        guard let certificate = SSL_get0_peer_certificate(ssl) else { return nil }
        var subject = ""
        if let name = X509_get_subject_name(certificate), let line = X509_NAME_oneline(name, nil, 0) {
            subject = String(cString: line)
            muster_OPENSSL_free(line)
        }
        var uris: [String] = []
        let count = muster_uri_san_count(certificate)
        var buffer = [CChar](repeating: 0, count: 1024)
        for index in 0..<count {
            let length = muster_uri_san_copy(certificate, index, &buffer, Int32(buffer.count))
            if length >= 0 { uris.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        }
        return PeerCertificate(subject: subject, uriNames: uris)
    }
}
