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
    public static func isCrossBorder(_ id: String) -> Bool { opener(ofCase: id) != nil }

    /// The jurisdiction whose broker opened the case `id` (`jinshan` of `jinshan.s-4`), when the
    /// rest is a case number of one of the workflows; nil for an id only one broker follows.
    static func opener(ofCase id: String) -> String? {
        guard let dot = id.lastIndex(of: ".") else { return nil }
        let number = id[id.index(after: dot)...]
        guard let dash = number.firstIndex(of: "-"), ["s", "h", "op"].contains(number[..<dash]),
              let digits = Int(number[number.index(after: dash)...]), digits > 0 else { return nil }
        return String(id[..<dot])
    }

    /// The linked jurisdictions a record this broker stores goes to: the owner sends a case's
    /// records to every linked jurisdiction in it (a copy or reminder in a local inbox too, so
    /// that both brokers' timelines say the same), the others send theirs to the owner; what is
    /// owed to a party served elsewhere goes to that party's broker only. Nothing that came over
    /// a link goes on (so nothing comes back).
    public func crossBorderTargets(of publication: Publication, directory: WorkflowDirectory) -> [String] {
        let headers = publication.headers
        guard headers[FederationHeader.via] == nil, let id = headers[WorkflowHeader.id], Self.isCrossBorder(id),
              let (owner, jurisdictions) = caseParties(id) else { return [] }
        if publication.destination == WorkflowHeader.crossBorderTransit, let recipient = headers[WorkflowHeader.recipient].flatMap(PartyIdentity.init(path:)) {
            return directory.isRemote(recipient) ? [recipient.jurisdiction] : []
        }
        let targets = owner.map { [$0] } ?? Array(jurisdictions)
        return targets.filter(directory.linked.contains).sorted()
    }

    /// The workflow type whose lane carries every record of the case `id` to a peer: one lane
    /// per case, so that its records arrive in the order they were decided.
    public func laneType(ofCase id: String) -> String? {
        if summonses[id] != nil { return WorkflowType.summons.rawValue }
        if handoffs[id] != nil { return WorkflowType.handoff.rawValue }
        if operations[id] != nil { return WorkflowType.jointOperation.rawValue }
        return nil
    }

    /// Why a workflow record a linked broker sent is not a record of a case both brokers follow;
    /// nil when it is: its id is qualified, a case it opens has its sender's jurisdiction's prefix
    /// and names a party of this broker's.
    public func refusalOfImport(_ message: WorkflowMessage, directory: WorkflowDirectory) -> BrokerError? {
        guard let origin = message.origin, let id = message.caseID, let opener = Self.opener(ofCase: id) else {
            return BrokerError(.notAuthorized, "a \(message.type.rawValue) record from a linked broker must belong to a case that names parties of both "
                               + "jurisdictions (an id such as jinshan.s-4); \(message.caseID ?? "no id") is not one")
        }
        guard caseParties(id) == nil else { return nil }
        guard opener == origin else {
            return BrokerError(.notAuthorized, "the broker of \(origin) opened a case with the id \(id); a broker opens cases only under its own jurisdiction's prefix (\(origin).)")
        }
        let named = message.parties(header: WorkflowHeader.summoned) + message.parties(header: WorkflowHeader.members)
            + [message.party(header: WorkflowHeader.assignee)].compactMap { $0 }
        guard named.contains(where: { $0.jurisdiction == directory.here }) else {
            return BrokerError(.notAuthorized, "the broker of \(origin) sent \(id), which names no party of \(directory.here)")
        }
        return nil
    }

    /// Why a record the broker of `jurisdiction` wrote itself (a copy, reminder, escalation or
    /// receipt) is not taken here; nil when it is. Only a case's owner times it, only about a
    /// party of the case, and only for that party (or, an escalation, for the summoner or
    /// originator and the party's supervisor); only the broker serving a party reports its receipts.
    public func refusalOfBrokerRecord(_ message: WorkflowMessage, from jurisdiction: String, directory: WorkflowDirectory) -> BrokerError? {
        guard let event = message.event else {
            return BrokerError(.notAuthorized, "the broker of \(jurisdiction) sent a \(message.type.rawValue) message as its own, but a broker writes only copies, reminders, escalations and receipts")
        }
        guard let id = message.caseID, let (owner, _) = caseParties(id) else {
            return BrokerError(.unknownWorkflow, "the broker of \(jurisdiction) wrote a \(event.rawValue) for \(message.caseID ?? "no case"), which this broker does not follow")
        }
        guard let party = message.party(header: WorkflowHeader.party), let caller = caseCaller(id), casePartyIDs(id).contains(party) else {
            return BrokerError(.notAuthorized, "the broker of \(jurisdiction) wrote a \(event.rawValue) for \(id) about a party that is not in it")
        }
        if event == .receipt {
            return party.jurisdiction == jurisdiction ? nil
                : BrokerError(.notAuthorized, "the broker of \(jurisdiction) reported a receipt for \(party.party), a party it does not serve")
        }
        guard owner == jurisdiction else {
            return BrokerError(.notAuthorized, "the broker of \(jurisdiction) wrote a \(event.rawValue) for \(id), which \(owner ?? "this broker") owns: only the owner times a case")
        }
        guard let recipient = message.party(header: WorkflowHeader.recipient) else { return nil }
        let allowed = message.type == .escalation ? [caller, directory.supervisor(of: party)].compactMap { $0 } : [party]
        return allowed.contains(recipient) ? nil
            : BrokerError(.notAuthorized, "the broker of \(jurisdiction) addressed a \(event.rawValue) of \(id) about \(party.party) to \(recipient.party)")
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

    /// The summoner or originator of the case `id`: who hears of its escalations.
    private func caseCaller(_ id: String) -> PartyIdentity? {
        summonses[id]?.summoner ?? handoffs[id]?.originator ?? operations[id]?.opener
    }

    /// Every party a copy, reminder or escalation of the case `id` may be about.
    private func casePartyIDs(_ id: String) -> [PartyIdentity] {
        if let summons = summonses[id] { return summons.parties.map(\.identity) }
        if let handoff = handoffs[id] { return handoff.legs.map(\.assignee) }
        return []
    }

    /// The owner (nil: this broker) and every jurisdiction of the case `id`.
    private func caseParties(_ id: String) -> (String?, Set<String>)? {
        if let summons = summonses[id] { return (summons.owner, summons.jurisdictions) }
        if let handoff = handoffs[id] { return (handoff.owner, handoff.jurisdictions) }
        if let operation = operations[id] { return (operation.owner, operation.jurisdictions) }
        return nil
    }
}
