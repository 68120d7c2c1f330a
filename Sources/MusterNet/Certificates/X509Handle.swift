internal import COpenSSL

/// Owns an OpenSSL `X509*` and frees it when released.
final class X509Handle {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { X509_free(pointer) }

    /// An empty certificate, to be filled in.
    convenience init() throws {
        guard let certificate = X509_new() else { throw OpenSSLError.drain("X509_new") }
        self.init(taking: certificate)
    }

    /// Parses the first certificate of a PEM text.
    convenience init(pem: String) throws {
        let certificate = try MemoryBIO.reading(pem) { PEM_read_bio_X509($0, nil, nil, nil) }
        guard let certificate else { throw OpenSSLError.drain("PEM_read_bio_X509") }
        self.init(taking: certificate)
    }

    /// The certificate as PEM text.
    func pem() throws -> String {
        try MemoryBIO.writing("PEM_write_bio_X509") { PEM_write_bio_X509($0, pointer) }
    }

    /// Whether basicConstraints (or, for v1 certificates, self-signing) marks it as a CA.
    var isCertificateAuthority: Bool { X509_check_ca(pointer) != 0 }

    /// Whether `key` is the private key for this certificate's public key.
    func matches(_ key: PrivateKeyHandle) -> Bool { X509_check_private_key(pointer, key.pointer) == 1 }
}
