public import MusterProtocol
public import MusterBroker
/// The parties as the workflows need them when a message is accepted: ids to identities,
/// kinds and jurisdictions for summons selectors, supervisors for escalations. What it
/// answers is stamped into the log, so rebuilding the state never asks it again.
public struct WorkflowDirectory: Sendable {
    public let parties: [PartyIdentity: RegisteredParty]
    private let byID: [String: RegisteredParty]

    public init(parties: [PartyIdentity: RegisteredParty]) {
        self.parties = parties
        self.byID = Dictionary(parties.values.map { ($0.identity.party, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func party(id: String) -> RegisteredParty? { byID[id] }

    /// Every party of `kind` in `jurisdiction`, in id order.
    public func parties(kind: String, jurisdiction: String) -> [RegisteredParty] {
        parties.values.filter { $0.kind.rawValue == kind && $0.identity.jurisdiction == jurisdiction }
            .sorted { $0.identity.party < $1.identity.party }
    }

    public func supervisor(of identity: PartyIdentity) -> PartyIdentity? {
        parties[identity]?.supervisor.flatMap { byID[$0]?.identity }
    }

    func resolve(_ id: String, field: String) -> Result<PartyIdentity, BrokerError> {
        guard let party = byID[id] else {
            return .failure(BrokerError(.unknownParty, "\(field) names '\(id)', which is not a party in the parties file"))
        }
        return .success(party.identity)
    }
}
