public import MusterProtocol
/// What kind of body a party is; topic rules grant rights by kind.
public enum PartyKind: String, Sendable, CaseIterable {
    case township, street, department, enterprise, community, grid, coordinator, auditor
    /// A scraper: reads `/metrics` over HTTPS with its certificate; the policy grants it nothing else by default.
    case monitor
}

/// A party the configuration knows: who it is, what kind, and to whom it answers.
public struct RegisteredParty: Sendable, Equatable {
    public let identity: PartyIdentity
    public let name: String
    public let kind: PartyKind
    /// The party that hears of this party's missed deadlines (escalation).
    public let supervisor: String?

    public init(identity: PartyIdentity, name: String, kind: PartyKind, supervisor: String? = nil) {
        self.identity = identity
        self.name = name
        self.kind = kind
        self.supervisor = supervisor
    }

    public var isAuditor: Bool { kind == .auditor }
}
