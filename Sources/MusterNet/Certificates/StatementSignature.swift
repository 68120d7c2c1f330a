internal import COpenSSL
import Glibc

/// Signs a statement (a log checkpoint) with a broker's private key, and checks such a
/// signature offline: the certificate that comes with it must chain to a CA the checker
/// trusts (as of the statement's time), and its public key must verify the signature.
/// SHA-256, with whatever key type the certificate has (EC or RSA).
public enum StatementSignature {
    public struct Failure: Error, CustomStringConvertible, Sendable, Equatable {
        public let description: String
    }

    /// The DER signature of `message` by the PEM private key in `privateKeyFile`, after checking
    /// that the key belongs to the first PEM certificate in `certificateFile`; returned with every
    /// certificate of the file (the signer's, then any intermediate CAs, as TLS serves them).
    public static func sign(_ message: [UInt8], privateKeyFile: String, certificateFile: String) throws -> (signature: [UInt8], certificatePEM: String) {
        let key = try PrivateKeyHandle(pem: try CertificateFiles.read(privateKeyFile, what: "private key"))
        let chain = try X509Handle.all(inFile: certificateFile, what: "certificate file")
        let certificate = chain[0]
        guard certificate.matches(key) else {
            throw Failure(description: "the private key \(privateKeyFile) is not the key of the certificate \(certificateFile)")
        }
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError.drain("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else { throw OpenSSLError.drain("EVP_DigestSignInit") }
        var length = 0
        guard message.withUnsafeBufferPointer({ EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }) == 1 else {
            throw OpenSSLError.drain("EVP_DigestSign")
        }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = signature.withUnsafeMutableBufferPointer { output in
            message.withUnsafeBufferPointer { EVP_DigestSign(context, output.baseAddress, &length, $0.baseAddress, $0.count) }
        }
        guard signed == 1 else { throw OpenSSLError.drain("EVP_DigestSign") }
        return (Array(signature.prefix(length)), try chain.map { try $0.pem() }.joined())
    }

    /// Checks `signature` over `message`; returns the certificate's URI names (its identity), or
    /// why it does not hold: a certificate not issued (through its chain: the intermediate CAs
    /// that follow it in `certificatePEM`) by one of the CAs in `authorityFiles` as of `time`
    /// (seconds since 1970), or a signature its key did not make.
    public static func verify(_ message: [UInt8], signature: [UInt8], certificatePEM: String, authorityFiles: [String],
                              at time: Int64) -> Result<[String], Failure> {
        let chain: [X509Handle]
        let authorities: [X509Handle]
        do {
            chain = try X509Handle.all(pem: certificatePEM)
            authorities = try authorityFiles.flatMap { try X509Handle.all(inFile: $0, what: "CA certificate file") }
        } catch {
            return .failure(Failure(description: "\(error)"))
        }
        guard let certificate = chain.first else { return .failure(Failure(description: "no certificate comes with the signature")) }
        if let problem = chainProblem(certificate, intermediates: Array(chain.dropFirst()), authorities: authorities, at: time) {
            return .failure(Failure(description: "the signer's certificate (\(X509Fields.subject(certificate.pointer))) does not chain to the CA given: \(problem)"))
        }
        guard let publicKey = X509_get0_pubkey(certificate.pointer), let context = EVP_MD_CTX_new() else {
            return .failure(Failure(description: "the signer's certificate has no usable public key"))
        }
        defer { EVP_MD_CTX_free(context) }
        let verified = EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, publicKey) == 1
            && signature.withUnsafeBufferPointer { signatureBytes in
                message.withUnsafeBufferPointer { EVP_DigestVerify(context, signatureBytes.baseAddress, signatureBytes.count, $0.baseAddress, $0.count) }
            } == 1
        ERR_clear_error()
        guard verified else { return .failure(Failure(description: "the signature does not match the statement: it was altered, or another key signed it")) }
        return .success(X509Fields.uriNames(certificate.pointer))
    }

    /// Why `certificate` does not chain to `authorities` at `time` (through `intermediates`, which
    /// are not trusted themselves), or nil.
    private static func chainProblem(_ certificate: X509Handle, intermediates: [X509Handle], authorities: [X509Handle], at time: Int64) -> String? {
        guard let store = X509_STORE_new() else { return "cannot make a certificate store" }
        defer { X509_STORE_free(store) }
        for authority in authorities { X509_STORE_add_cert(store, authority.pointer) }
        guard let untrusted = muster_X509_stack_new() else { return "cannot make a certificate list" }
        defer { muster_X509_stack_free(untrusted) }
        for intermediate in intermediates where muster_X509_stack_push(untrusted, intermediate.pointer) != 1 { return "cannot list the intermediate CAs" }
        guard let context = X509_STORE_CTX_new() else { return "cannot make a verification context" }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, certificate.pointer, untrusted) == 1 else { ERR_clear_error(); return "cannot start the verification" }
        X509_STORE_CTX_set_time(context, 0, time_t(time))
        guard X509_verify_cert(context) == 1 else {
            let code = X509_STORE_CTX_get_error(context)
            ERR_clear_error()
            return X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "error \(code)"
        }
        return nil
    }
}
