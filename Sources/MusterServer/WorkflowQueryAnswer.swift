import Foundation
public import MusterBroker
public import MusterProtocol
public import MusterWorkflow

/// Answers the workflow queries (Schemas/protocol.md, "Workflow queries"). A party sees the
/// summonses and hand-offs it took part in; coordinators and auditors see all of them; the
/// assessment is open to every party.
public enum WorkflowQueryAnswer {
    public static func answer(_ query: AckQuery, party: PartyIdentity, kind: PartyKind?, desk: WorkflowDesk) -> Result<[UInt8], BrokerError> {
        let overseer = kind == .coordinator || kind == .auditor
        let now = desk.now
        return desk.read { book, deliveries in
            switch query.kind {
            case .summonsList:
                let views = visibleSummonses(book, to: party, overseer: overseer)
                    .filter { !query.openOnly || $0.state == "open" }
                    .map { SummonsView($0, deliveries: deliveries, now: now) }
                return .success(encode(views))
            case .summonsShow:
                guard let summons = book.summonses[query.caseID ?? ""] else { return .failure(BrokerError(.unknownWorkflow, "no summons has the id '\(query.caseID ?? "")'")) }
                guard overseer || summons.summoner == party || summons.index(of: party) != nil else {
                    return .failure(BrokerError(.notAuthorized, "\(party) took no part in summons \(summons.id); only its summoner, the summoned parties, coordinators and auditors may see it"))
                }
                return .success(encode(SummonsView(summons, deliveries: deliveries, now: now)))
            case .handoffList:
                let views = visibleHandoffs(book, to: party, overseer: overseer)
                    .filter { !query.openOnly || !["completed", "rated"].contains($0.state) }
                    .map { HandoffView($0, deliveries: deliveries, now: now) }
                return .success(encode(views))
            case .handoffShow:
                guard let handoff = book.handoffs[query.caseID ?? ""] else { return .failure(BrokerError(.unknownWorkflow, "no hand-off has the id '\(query.caseID ?? "")'")) }
                guard overseer || handoff.originator == party || handoff.legs.contains(where: { $0.assignee == party }) else {
                    return .failure(BrokerError(.notAuthorized, "\(party) took no part in hand-off \(handoff.id); only its originator, its assignees, coordinators and auditors may see it"))
                }
                return .success(encode(HandoffView(handoff, deliveries: deliveries, now: now)))
            case .operationList:
                let views = book.operationOrder.compactMap { book.operations[$0] }
                    .filter { overseer || $0.members.contains(party) }
                    .filter { !query.openOnly || $0.state == "open" }
                    .map(JointOperationView.init)
                return .success(encode(views))
            case .assessment:
                return .success(encode(Assessment(book: book, from: query.from ?? 0, to: query.to ?? .max, jurisdiction: query.jurisdiction, now: now)))
            case .pending, .history, .checkpoint:
                return .failure(BrokerError(.invalidQuery, "\(query.kind.rawValue) is not a workflow query"))
            }
        }
    }

    /// The summonses `party` may see, oldest first: those it summoned or was summoned to (all, for an overseer).
    static func visibleSummonses(_ book: WorkflowBook, to party: PartyIdentity, overseer: Bool) -> [SummonsCase] {
        book.summonsOrder.compactMap { book.summonses[$0] }.filter { overseer || $0.summoner == party || $0.index(of: party) != nil }
    }

    /// The hand-offs `party` may see, oldest first: those it dispatched or held (all, for an overseer).
    static func visibleHandoffs(_ book: WorkflowBook, to party: PartyIdentity, overseer: Bool) -> [HandoffCase] {
        book.handoffOrder.compactMap { book.handoffs[$0] }
            .filter { handoff in overseer || handoff.originator == party || handoff.legs.contains { $0.assignee == party } }
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}
