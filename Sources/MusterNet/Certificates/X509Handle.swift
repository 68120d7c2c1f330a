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

    /// Parses every certificate of a PEM text, in order (a CA file may hold several during a
    /// rollover). Empty if the text holds no PEM certificate; throws if one is damaged.
    static func all(pem: String) throws -> [X509Handle] {
        try MemoryBIO.reading(pem) { bio in
            var certificates: [X509Handle] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                certificates.append(X509Handle(taking: certificate))
            }
            guard muster_PEM_error_is_no_start_line() == 1 else { throw OpenSSLError.drain("PEM_read_bio_X509") }
            ERR_clear_error()
            return certificates
        }
    }

    /// Every certificate of a PEM file, in order, with errors that name the file: missing or
    /// unreadable, damaged, or holding no PEM certificate at all. `what` says what the file
    /// is for ("CA certificate file").
    static func all(inFile path: String, what: String) throws -> [X509Handle] {
        let text = try CertificateFiles.read(path, what: what)
        let certificates: [X509Handle]
        do {
            certificates = try all(pem: text)
        } catch let error as OpenSSLError {
            throw CertificateFileError(path: path, action: "read the certificates in the \(what)",
                                       reason: "a certificate in it is damaged (\(error.description))",
                                       remedy: "Replace the file with an intact copy from its authority.")
        }
        guard !certificates.isEmpty else {
            throw CertificateFileError(path: path, action: "read the certificates in the \(what)",
                                       reason: "it holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)",
                                       remedy: "Give a PEM certificate file; convert a DER one with `openssl x509 -inform DER -in FILE -out FILE.pem`.")
        }
        return certificates
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
