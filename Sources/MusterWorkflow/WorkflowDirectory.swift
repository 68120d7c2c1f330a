public import MusterProtocol
public import MusterBroker
/// The parties as the workflows need them when a message is accepted: ids to identities,
/// kinds and jurisdictions for summons selectors, supervisors for escalations. What it
/// answers is stamped into the log, so rebuilding the state never asks it again.
public struct WorkflowDirectory: Sendable {
    public let parties: [PartyIdentity: RegisteredParty]
    /// The jurisdictions whose parties a linked broker serves (federation peers that take part
    /// in the workflows): what this broker owes them crosses the link instead of going to an inbox here.
    public let linked: Set<String>
    /// This broker's jurisdiction: the prefix of the ids of the cases it opens with linked parties.
    public let here: String
    private let byID: [String: RegisteredParty]

    public init(parties: [PartyIdentity: RegisteredParty], here: String = "", linked: Set<String> = []) {
        self.parties = parties
        self.here = here
        self.linked = linked.subtracting([here])
        self.byID = Dictionary(parties.values.map { ($0.identity.party, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Whether another broker serves `party` (its jurisdiction is linked).
    public func isRemote(_ party: PartyIdentity) -> Bool { linked.contains(party.jurisdiction) }

    /// The id of a new case (`s-4`); `jinshan.s-4` when a linked broker serves one of its
    /// parties, so that it is the same, and unique, in both brokers' logs.
    func caseID(_ prefix: String, number: Int, parties: [PartyIdentity]) -> String {
        parties.contains(where: isRemote) ? "\(here).\(prefix)-\(number)" : "\(prefix)-\(number)"
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
