/// Whom a topic rule names: every party, or those matching all of the given fields (each
/// field lists alternatives). `isSelf` names the party whose id fills the destination's
/// `{party}` placeholder: its own inbox.
public struct PartySelector: Sendable, Equatable, CustomStringConvertible {
    public var parties: Set<String>?
    public var kinds: Set<PartyKind>?
    public var jurisdictions: Set<String>?
    public var isSelf: Bool

    public init(parties: Set<String>? = nil, kinds: Set<PartyKind>? = nil, jurisdictions: Set<String>? = nil, isSelf: Bool = false) {
        self.parties = parties
        self.kinds = kinds
        self.jurisdictions = jurisdictions
        self.isSelf = isSelf
    }

    public static let everyone = PartySelector()
    public static let owner = PartySelector(isSelf: true)

    /// Whether `party` is named; `boundParty` is the `{party}` of the destination, if any.
    public func matches(_ party: RegisteredParty, boundParty: String?) -> Bool {
        if isSelf, boundParty != party.identity.party { return false }
        if let parties, !parties.contains(party.identity.party) { return false }
        if let kinds, !kinds.contains(party.kind) { return false }
        if let jurisdictions, !jurisdictions.contains(party.identity.jurisdiction) { return false }
        return true
    }

    public var description: String {
        var parts: [String] = []
        if isSelf { parts.append("the inbox's own party") }
        if let parties { parts.append("party \(Self.list(parties))") }
        if let kinds { parts.append("kind \(Self.list(Set(kinds.map(\.rawValue))))") }
        if let jurisdictions { parts.append("jurisdiction \(Self.list(jurisdictions))") }
        return parts.isEmpty ? "all parties" : parts.joined(separator: " in ")
    }

    private static func list(_ values: Set<String>) -> String {
        let sorted = values.sorted()
        return sorted.count == 1 ? sorted[0] : "[\(sorted.joined(separator: ", "))]"
    }
}
