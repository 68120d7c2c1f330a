import MusterStomp
public import MusterProtocol
public import MusterBroker
import MusterSchema

/// Cases between brokers: a case that names a party another broker serves has a qualified id
/// (`jinshan.s-4`) and is followed in both brokers' logs. The broker that opened it owns it (its
/// timers write the copies, reminders and escalations); the other broker takes what the owner
/// writes, decides its own parties' messages against its copy of the case, and reports their
/// receipts. Which records cross, and what a linked broker may write here, is decided here.
extension WorkflowBook {
    /// Whether `id` names a case followed by more than one broker.
    public static func isCrossBorder(_ id: String) -> Bool { id.contains(".") }

    /// The linked jurisdictions a record this broker stores goes to: the owner sends a case's
    /// records to every linked jurisdiction in it, the others send theirs to the owner; what is
    /// owed to one party goes to that party's broker only, and a copy in an inbox here nowhere.
    /// Nothing that came over a link goes on (so nothing comes back).
    public func crossBorderTargets(of publication: Publication, directory: WorkflowDirectory) -> [String] {
        let headers = publication.headers
        guard headers[FederationHeader.via] == nil, let id = headers[WorkflowHeader.id], Self.isCrossBorder(id),
              let (owner, jurisdictions) = caseParties(id) else { return [] }
        if publication.destination == WorkflowHeader.crossBorderTransit, let recipient = headers[WorkflowHeader.recipient].flatMap(PartyIdentity.init(path:)) {
            return directory.isRemote(recipient) ? [recipient.jurisdiction] : []
        }
        if headers[WorkflowHeader.event] != nil, publication.destination.kind == .queue { return [] }
        let targets = owner.map { [$0] } ?? Array(jurisdictions)
        return targets.filter(directory.linked.contains).sorted()
    }

    /// Why a workflow record a linked broker sent is not a record of a case both brokers follow;
    /// nil when it is: its id is qualified, and a case it opens has its sender's jurisdiction's prefix.
    public func refusalOfImport(_ message: WorkflowMessage) -> BrokerError? {
        guard let origin = message.origin, let id = message.caseID, Self.isCrossBorder(id) else {
            return BrokerError(.notAuthorized, "a \(message.type.rawValue) record from a linked broker must belong to a case that names parties of both "
                               + "jurisdictions (an id such as jinshan.s-4); \(message.caseID ?? "no id") is not one")
        }
        guard caseParties(id) != nil || id.hasPrefix(origin + ".") else {
            return BrokerError(.notAuthorized, "the broker of \(origin) opened a case with the id \(id); a broker opens cases only under its own jurisdiction's prefix (\(origin).)")
        }
        return nil
    }

    /// Why a record the broker of `jurisdiction` wrote itself (a copy, reminder, escalation or
    /// receipt) is not taken here; nil when it is. Only a case's owner times it, and only the
    /// broker serving a party reports that party's receipts.
    public func refusalOfBrokerRecord(_ message: WorkflowMessage, from jurisdiction: String) -> BrokerError? {
        guard let event = message.event else {
            return BrokerError(.notAuthorized, "the broker of \(jurisdiction) sent a \(message.type.rawValue) message as its own, but a broker writes only copies, reminders, escalations and receipts")
        }
        guard let id = message.caseID, let (owner, _) = caseParties(id) else {
            return BrokerError(.unknownWorkflow, "the broker of \(jurisdiction) wrote a \(event.rawValue) for \(message.caseID ?? "no case"), which this broker does not follow")
        }
        if event == .receipt {
            guard let party = message.party(header: WorkflowHeader.party), party.jurisdiction == jurisdiction else {
                return BrokerError(.notAuthorized, "the broker of \(jurisdiction) reported a receipt for a party it does not serve")
            }
            let inCase = summonses[id]?.index(of: party) != nil || handoffs[id]?.legs.contains { $0.assignee == party } == true
            return inCase ? nil : BrokerError(.notAuthorized, "the broker of \(jurisdiction) reported a receipt for \(party.party), who has no copy of \(id)")
        }
        guard owner == jurisdiction else {
            return BrokerError(.notAuthorized, "the broker of \(jurisdiction) wrote a \(event.rawValue) for \(id), which \(owner ?? "this broker") owns: only the owner times a case")
        }
        return nil
    }

    /// The receipt a broker writes when a party it serves got or acknowledged its copy of a
    /// cross-border case; nil when the case already holds these marks.
    public func receipt(for id: String, party: PartyIdentity, marks: InboxDeliveries.Marks, now: Int64, broker: PartyIdentity,
                        directory: WorkflowDirectory) -> Publication? {
        let recorded: InboxDeliveries.Marks?
        let type: WorkflowType
        if let summons = summonses[id], let index = summons.index(of: party) {
            recorded = summons.parties[index].receipt
            type = .summons
        } else if let handoff = handoffs[id], let leg = handoff.legs.last(where: { $0.assignee == party }) {
            recorded = leg.receipt
            type = .handoff
        } else {
            return nil
        }
        guard !directory.isRemote(party), recorded != marks, marks.deliveredAt != nil || marks.ackedAt != nil else { return nil }
        var headers = StompHeaders()
        headers[ReservedHeader.type] = type.rawValue
        headers[WorkflowHeader.event] = WorkflowEventKind.receipt.rawValue
        headers[WorkflowHeader.id] = id
        headers[WorkflowHeader.party] = party.description
        headers[WorkflowHeader.time] = String(now)
        if let delivered = marks.deliveredAt { headers[WorkflowHeader.deliveredAt] = String(delivered) }
        if let acked = marks.ackedAt { headers[WorkflowHeader.ackedAt] = String(acked) }
        headers["content-type"] = "application/json"
        let body = JSONValue.object(JSONObject([("action", .string("receipt")), ("party", .string(party.party))]))
        return Publication(destination: WorkflowHeader.crossBorderTransit, headers: headers, body: Array(body.jsonText.utf8), sender: broker)
    }

    /// The owner (nil: this broker) and every jurisdiction of the case `id`.
    private func caseParties(_ id: String) -> (String?, Set<String>)? {
        if let summons = summonses[id] { return (summons.owner, summons.jurisdictions) }
        if let handoff = handoffs[id] { return (handoff.owner, handoff.jurisdictions) }
        if let operation = operations[id] { return (operation.owner, operation.jurisdictions) }
        return nil
    }
}
