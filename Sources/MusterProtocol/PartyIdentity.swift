/// A party's identity, from the URI SAN `muster://JURISDICTION/PARTY`.
public struct PartyIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
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

    /// The single Muster identity a certificate carries (given its URI names), or why it has none.
    public static func from(uriNames: [String], subject: String) -> Result<PartyIdentity, IdentityError> {
        let identities = uriNames.filter { $0.hasPrefix(uriScheme) }
        guard !identities.isEmpty else { return .failure(.missing(subject: subject)) }
        guard identities.count == 1 else { return .failure(.ambiguous(identities)) }
        guard let identity = PartyIdentity(uri: identities[0]) else { return .failure(.malformed(identities[0])) }
        return .success(identity)
    }

    public var uri: String { "\(Self.uriScheme)\(jurisdiction)/\(party)" }

    /// The party name of a jurisdiction's broker: reserved, no party of the parties file may take it.
    public static let brokerParty = "broker"

    /// A jurisdiction's broker, `muster://JURISDICTION/broker`: the name in its certificate.
    public static func broker(of jurisdiction: String) -> PartyIdentity {
        PartyIdentity(jurisdiction: jurisdiction, party: brokerParty)
    }
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
