internal import COpenSSL

/// Owns an OpenSSL `EVP_PKEY*` and frees it when released.
final class PrivateKeyHandle {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    /// A new EC key on NIST P-256.
    static func generateP256() throws -> PrivateKeyHandle {
        guard let key = muster_EVP_EC_gen("P-256") else { throw OpenSSLError.drain("EVP_EC_gen") }
        return PrivateKeyHandle(taking: key)
    }

    /// Parses an unencrypted PEM private key (PKCS#8 or traditional). Encrypted keys fail
    /// rather than prompting on the terminal for a passphrase.
    convenience init(pem: String) throws {
        let key = try MemoryBIO.reading(pem) { bio in
            PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let key else { throw OpenSSLError.drain("PEM_read_bio_PrivateKey") }
        self.init(taking: key)
    }

    /// The key as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").
    func pem() throws -> String {
        try MemoryBIO.writing("PEM_write_bio_PrivateKey") {
            PEM_write_bio_PrivateKey($0, pointer, nil, nil, 0, nil, nil)
        }
    }
}
