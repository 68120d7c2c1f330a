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

/// A party's identity, from the URI SAN `muster://JURISDICTION/PARTY`.
public struct PartyIdentity: Sendable, Hashable, CustomStringConvertible {
    public static let uriScheme = "muster://"
    public let jurisdiction: String
    public let party: String

    public init(jurisdiction: String, party: String) {
        self.jurisdiction = jurisdiction
        self.party = party
    }

    /// Parses `muster://JURISDICTION/PARTY`; nil for anything else.
    public init?(uri: String) {
        guard uri.hasPrefix(Self.uriScheme) else { return nil }
        let parts = uri.dropFirst(Self.uriScheme.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, Self.isValidName(parts[0]), Self.isValidName(parts[1]) else { return nil }
        self.init(jurisdiction: String(parts[0]), party: String(parts[1]))
    }

    /// The single Muster identity a certificate carries, or a reason it has none.
    public static func from(_ certificate: PeerCertificate) -> Result<PartyIdentity, IdentityError> {
        let identities = certificate.uriNames.filter { $0.hasPrefix(uriScheme) }
        guard !identities.isEmpty else { return .failure(.missing(subject: certificate.subject)) }
        guard identities.count == 1 else { return .failure(.ambiguous(identities)) }
        guard let identity = PartyIdentity(uri: identities[0]) else { return .failure(.malformed(identities[0])) }
        return .success(identity)
    }

    public var uri: String { "\(Self.uriScheme)\(jurisdiction)/\(party)" }
    public var description: String { "\(jurisdiction)/\(party)" }

    static func isValidName(_ name: Substring) -> Bool {
        !name.isEmpty && name.utf8.count <= 128 && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
    }
}

public enum IdentityError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(subject: String)
    case ambiguous([String])
    case malformed(String)

    public var description: String {
        switch self {
        case .missing(let subject):
            return "the client certificate (\(subject)) has no muster://JURISDICTION/PARTY URI name; issue it with `muster certs init` or add the URI SAN"
        case .ambiguous(let uris):
            return "the client certificate names several Muster identities (\(uris.joined(separator: ", "))); a certificate must name exactly one party"
        case .malformed(let uri):
            return "the certificate's identity \(uri) is not of the form muster://JURISDICTION/PARTY (letters, digits, '-', '_', '.')"
        }
    }
}
