internal import COpenSSL
import Glibc

public enum TLSVersion: String, Sendable, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"

    var openSSLValue: Int32 { self == .tls12 ? muster_TLS1_2_VERSION() : muster_TLS1_3_VERSION() }
}

/// What a TLS endpoint presents and whom it trusts.
public struct TLSConfiguration: Sendable {
    public var certificatePath: String
    public var privateKeyPath: String
    /// PEM files of the certificate authorities whose certificates are accepted.
    public var trustedAuthorityPaths: [String]
    public var minimumVersion: TLSVersion
    public var maximumVersion: TLSVersion

    public init(certificatePath: String, privateKeyPath: String, trustedAuthorityPaths: [String],
                minimumVersion: TLSVersion = .tls12, maximumVersion: TLSVersion = .tls13) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.trustedAuthorityPaths = trustedAuthorityPaths
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
    }
}

/// A configuration problem with TLS files, said so that the user can fix it.
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// An OpenSSL SSL_CTX: mutual TLS, certificate verification mandatory on both sides.
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable { case server, client }

    public let role: Role
    let context: OpaquePointer

    public init(role: Role, configuration: TLSConfiguration) throws {
        self.role = role
        guard let context = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw OpenSSLError.drain("SSL_CTX_new")
        }
        self.context = context
        do {
            try configure(configuration)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
    }

    deinit { SSL_CTX_free(context) }

    private func configure(_ configuration: TLSConfiguration) throws {
        guard configuration.minimumVersion.openSSLValue <= configuration.maximumVersion.openSSLValue else {
            throw TLSSetupError(message: "TLS minimum version \(configuration.minimumVersion.rawValue) is above the maximum \(configuration.maximumVersion.rawValue); set tls.min-version to 1.2 or 1.3")
        }
        _ = muster_SSL_CTX_set_min_proto_version(context, configuration.minimumVersion.openSSLValue)
        _ = muster_SSL_CTX_set_max_proto_version(context, configuration.maximumVersion.openSSLValue)
        // A server releases an idle connection's 34 KiB of TLS buffers (it may hold thousands of
        // connections); a client keeps its few, which it reads and writes without pause (a federation
        // link importing a backlog would otherwise allocate and free a buffer on every read).
        let release = role == .server ? SSL_MODE_RELEASE_BUFFERS : 0
        _ = muster_SSL_CTX_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | release))
        // TLS 1.2: forward-secret AEAD suites only (no CBC); TLS 1.3 has no others.
        guard SSL_CTX_set_cipher_list(context, "ECDHE+AESGCM:ECDHE+CHACHA20") == 1 else {
            throw TLSSetupError(message: "OpenSSL offers no ECDHE AEAD cipher suite for TLS 1.2: \(OpenSSLError.drain("cipher list").queue.joined(separator: "; "))")
        }

        // A client context may omit its certificate (only to test that the broker refuses it).
        if role == .server || !configuration.certificatePath.isEmpty {
            try requireReadable(configuration.certificatePath, what: "certificate")
            try requireReadable(configuration.privateKeyPath, what: "private key")
            guard SSL_CTX_use_certificate_chain_file(context, configuration.certificatePath) == 1 else {
                throw TLSSetupError(message: "cannot load the certificate \(configuration.certificatePath): \(OpenSSLError.drain("load").queue.joined(separator: "; ")); it must be a PEM certificate")
            }
            guard SSL_CTX_use_PrivateKey_file(context, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
                throw TLSSetupError(message: "cannot load the private key \(configuration.privateKeyPath): \(OpenSSLError.drain("load").queue.joined(separator: "; ")); it must be an unencrypted PEM key")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw TLSSetupError(message: "the private key \(configuration.privateKeyPath) does not belong to the certificate \(configuration.certificatePath); use the key issued with that certificate")
            }
        }
        guard !configuration.trustedAuthorityPaths.isEmpty else {
            throw TLSSetupError(message: "no trusted certificate authority is configured; mutual TLS needs at least one CA file")
        }
        for path in configuration.trustedAuthorityPaths {
            try requireReadable(path, what: "certificate authority")
            guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                throw TLSSetupError(message: "cannot load the certificate authority \(path): \(OpenSSLError.drain("load").queue.joined(separator: "; "))")
            }
        }
        // Resumed sessions carry no verified chain, which the broker needs to tell which
        // jurisdiction's CA vouched for a peer (PeerCertificate.anchorFingerprint).
        if role == .server, muster_SSL_CTX_disable_resumption(context) != 1 {
            throw TLSSetupError(message: "cannot turn off TLS session resumption: \(OpenSSLError.drain("SSL_CTX_set_num_tickets"))")
        }
        // The broker's channels read until WANT_READ (and again after a pause): two read(2)s per
        // TLS record fewer. Clients may poll the socket with bytes held in OpenSSL, so not for them.
        if role == .server { muster_SSL_CTX_set_read_ahead(context) }
        if role == .server, let names = muster_X509_NAME_stack_new() {
            // Tells clients which authorities' certificates the broker accepts.
            for path in configuration.trustedAuthorityPaths {
                _ = SSL_add_file_cert_subjects_to_stack(names, path)
            }
            SSL_CTX_set_client_CA_list(context, names)
        }
        let verifyMode = role == .server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER
        SSL_CTX_set_verify(context, verifyMode, nil)
        ERR_clear_error()
    }

    private func requireReadable(_ path: String, what: String) throws {
        guard access(path, R_OK) == 0 else {
            throw TLSSetupError(message: "the \(what) file \(path) cannot be read (\(SystemError(call: "access", errno: errno).text)); check the path, or run `muster certs init` to create development certificates")
        }
    }
}
