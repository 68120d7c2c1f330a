import Foundation
public import MusterBroker
public import MusterProtocol

/// The jurisdictions and parties of `Config/parties.yaml`.
public struct PartyDirectory: Sendable {
    public typealias Kind = PartyKind

    public struct Jurisdiction: Sendable {
        public let id: String
        public let name: String
        /// PEM files of this jurisdiction's certificate authority (several during a CA rollover).
        public let authorityPaths: [String]
        /// Certificate revocation lists issued by that authority (PEM or DER).
        public let revocationListPaths: [String]
    }

    public struct Party: Sendable {
        public let id: String
        public let name: String
        public let jurisdiction: String
        public let kind: Kind
        public let supervisor: String?

        public var identity: PartyIdentity { PartyIdentity(jurisdiction: jurisdiction, party: id) }
        public var registered: RegisteredParty { RegisteredParty(identity: identity, name: name, kind: kind, supervisor: supervisor) }
    }

    /// The file it was read from, for messages.
    public let file: String
    public let jurisdictions: [Jurisdiction]
    public let parties: [Party]

    public func jurisdiction(_ id: String) -> Jurisdiction? { jurisdictions.first { $0.id == id } }
    public func party(_ identity: PartyIdentity) -> Party? {
        parties.first { $0.id == identity.party && $0.jurisdiction == identity.jurisdiction }
    }

    public static func load(file: String) throws(ConfigurationError) -> PartyDirectory {
        let root = try ConfigurationReader.load(file: file)
        let jurisdictions = try root.list("jurisdictions") { reader throws(ConfigurationError) in
            let authorities = try reader.stringOrList("ca") ?? []
            guard !authorities.isEmpty else { throw reader.error("ca", "is required: the PEM file(s) of the jurisdiction's certificate authority") }
            return Jurisdiction(id: try identifier(reader, "id"), name: try reader.string("name") ?? "",
                                authorityPaths: authorities, revocationListPaths: try reader.stringOrList("crl") ?? [])
        }
        let parties = try root.list("parties") { reader throws(ConfigurationError) in
            let kindText = try required(reader, "kind")
            guard let kind = Kind(rawValue: kindText) else {
                throw reader.error("kind", "'\(kindText)' must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return Party(id: try identifier(reader, "id"), name: try reader.string("name") ?? "",
                         jurisdiction: try required(reader, "jurisdiction"), kind: kind,
                         supervisor: try reader.string("supervisor"))
        }
        try root.rejectUnknownKeys()
        guard !jurisdictions.isEmpty else {
            throw ConfigurationError(file: file, key: "jurisdictions", problem: "must list at least one jurisdiction with its CA file")
        }
        var seen = Set<String>()
        for (index, party) in parties.enumerated() {
            guard jurisdictions.contains(where: { $0.id == party.jurisdiction }) else {
                throw ConfigurationError(file: file, key: "parties[\(index)].jurisdiction", problem: "'\(party.jurisdiction)' is not listed under jurisdictions")
            }
            guard party.id != PartyIdentity.brokerParty else {
                throw ConfigurationError(file: file, key: "parties[\(index)].id",
                                         problem: "'\(party.id)' is reserved for the jurisdiction's broker (muster://\(party.jurisdiction)/broker); choose another id")
            }
            guard seen.insert("\(party.jurisdiction)/\(party.id)").inserted else {
                throw ConfigurationError(file: file, key: "parties[\(index)].id", problem: "'\(party.id)' appears twice in \(party.jurisdiction)")
            }
        }
        for (index, party) in parties.enumerated() {
            if let supervisor = party.supervisor, !parties.contains(where: { $0.id == supervisor }) {
                throw ConfigurationError(file: file, key: "parties[\(index)].supervisor", problem: "'\(supervisor)' is not a party in this file")
            }
        }
        return PartyDirectory(file: file, jurisdictions: jurisdictions, parties: parties)
    }

    private static func required(_ reader: ConfigurationReader, _ key: String) throws(ConfigurationError) -> String {
        guard let value = try reader.string(key), !value.isEmpty else { throw reader.error(key, "is required") }
        return value
    }

    private static func identifier(_ reader: ConfigurationReader, _ key: String) throws(ConfigurationError) -> String {
        let value = try required(reader, key)
        guard PartyIdentity(uri: "muster://x/\(value)") != nil else {
            throw reader.error(key, "'\(value)' may contain only letters, digits, '-', '_' and '.'")
        }
        return value
    }
}
