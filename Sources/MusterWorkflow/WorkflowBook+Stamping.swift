import MusterStomp
public import MusterProtocol
import MusterSchema
public import MusterBroker

/// Stamping: what the broker adds to a workflow message when it accepts it. Ids, the time,
/// and every answer of the party directory (who a selector summons, who a transfer goes to)
/// travel in headers, so that the log alone says what the workflow decided.
extension WorkflowBook {
    /// The publication with its workflow headers, or why it cannot be taken. Does not change the book.
    public func stamp(_ publication: Publication, time: Int64, directory: WorkflowDirectory) -> Result<Publication, BrokerError> {
        guard let typeText = publication.headers[ReservedHeader.type], let type = WorkflowType(rawValue: typeText) else {
            return .success(publication)
        }
        guard case .object(let body)? = try? JSONParser.parse(publication.body) else {
            return .failure(BrokerError(.schemaViolation, "a \(typeText) message must be a JSON object"))
        }
        var stamped = publication
        stamped.headers[WorkflowHeader.time] = String(time)
        func text(_ key: String) -> String? {
            if case .string(let value)? = body[key] { return value }
            return nil
        }
        let action = text("action") ?? type.rawValue
        do throws(BrokerError) {
            switch (type, action) {
            case (.summons, "open"):
                // Summoned parties may post progress notes on the summons topic; only these kinds blow the whistle.
                if let kind = directory.parties[publication.sender]?.kind, !Self.summonerKinds.contains(kind) {
                    throw BrokerError(.notAuthorized, "\(publication.sender) is a \(kind.rawValue); only townships, street offices and coordinators blow the whistle")
                }
                let summoned = try summonedParties(body, summoner: publication.sender, directory: directory)
                stamped.headers[WorkflowHeader.id] = directory.caseID("s", number: summonsCount + 1, parties: summoned)

                stamped.headers[WorkflowHeader.summoned] = summoned.map(\.description).joined(separator: ",")
                let deadlineText = text("deadline") ?? "PT30M"
                guard let deadline = WorkflowTime.milliseconds(pointInTime: deadlineText, from: time), deadline > time else {
                    throw BrokerError(.invalidTransition, "the deadline \(deadlineText) is not in the future; give a duration such as PT30M or a later date-time")
                }
                if case .array(let reminders)? = body["reminders"] {
                    for case .string(let reminder) in reminders {
                        guard let before = WorkflowTime.milliseconds(duration: reminder), before < deadline - time else {
                            throw BrokerError(.invalidTransition, "the reminder \(reminder) before the deadline would come before the summons itself; use a shorter one")
                        }
                    }
                }
                stamped.headers[WorkflowHeader.deadline] = WorkflowTime.rfc3339(deadline)
            case (.summons, _), (.reportIn, _), (.evaluation, _):
                stamped.headers[WorkflowHeader.id] = text("summonsId") ?? ""
            case (.handoff, "dispatch"):
                let assignee = try directory.resolve(text("assignee") ?? "", field: "assignee").get()
                stamped.headers[WorkflowHeader.id] = directory.caseID("h", number: handoffCount + 1, parties: [assignee])

                stamped.headers[WorkflowHeader.assignee] = assignee.description
                let dueText = text("due") ?? ""
                guard let due = WorkflowTime.milliseconds(pointInTime: dueText, from: time), due > time else {
                    throw BrokerError(.invalidTransition, "the due time \(dueText) is not in the future; give a duration such as P1D or a later date-time")
                }
                stamped.headers[WorkflowHeader.deadline] = WorkflowTime.rfc3339(due)
            case (.handoff, "transfer"):
                let id = text("handoffId") ?? ""
                stamped.headers[WorkflowHeader.id] = id
                let next = try directory.resolve(text("to") ?? "", field: "to").get()
                try crossesOnlyIfOpenedSo(id, next, kind: "hand-off", opened: "dispatched", directory: directory)
                stamped.headers[WorkflowHeader.assignee] = next.description
            case (.handoff, _):
                stamped.headers[WorkflowHeader.id] = text("handoffId") ?? ""
            case (.jointOperation, "open"):
                var members: [PartyIdentity] = [publication.sender]
                if case .array(let listed)? = body["members"] {
                    for case .object(let member) in listed {
                        guard case .string(let id)? = member["party"] else { continue }
                        let identity = try directory.resolve(id, field: "members").get()
                        if case .string(let jurisdiction)? = member["jurisdiction"], jurisdiction != identity.jurisdiction {
                            throw BrokerError(.unknownParty, "members names \(id) in \(jurisdiction), but \(id) belongs to \(identity.jurisdiction)")
                        }
                        if !members.contains(identity) { members.append(identity) }
                    }
                }
                stamped.headers[WorkflowHeader.members] = members.map(\.description).joined(separator: ",")
                stamped.headers[WorkflowHeader.id] = directory.caseID("op", number: operationCount + 1, parties: members)
                if case .object(let window)? = body["window"], case .string(let start)? = window["start"], case .string(let end)? = window["end"],
                   let from = WorkflowTime.milliseconds(rfc3339: start), let to = WorkflowTime.milliseconds(rfc3339: end), to <= from {
                    throw BrokerError(.invalidTransition, "the window ends (\(end)) before it starts (\(start))")
                }
            case (.jointOperation, "join"):
                let id = text("operationId") ?? ""
                stamped.headers[WorkflowHeader.id] = id
                let joining = try directory.resolve(text("party") ?? "", field: "party").get()
                try crossesOnlyIfOpenedSo(id, joining, kind: "operation", opened: "opened", directory: directory)
                stamped.headers[WorkflowHeader.party] = joining.description
            case (.jointOperation, _):
                stamped.headers[WorkflowHeader.id] = text("operationId") ?? ""
            case (.escalation, _):
                throw BrokerError(.notAuthorized, "escalations are written by the broker when a deadline passes, not by clients")
            }
            try Self.notStraightToAnInbox(publication.destination, id: stamped.headers[WorkflowHeader.id] ?? "")
        } catch {
            return .failure(error)
        }
        return .success(stamped)
    }

    /// A linked broker follows a case only if it named one of its parties from the start: a case
    /// cannot take in a party of another linked jurisdiction later.
    private func crossesOnlyIfOpenedSo(_ id: String, _ party: PartyIdentity, kind: String, opened: String,
                                       directory: WorkflowDirectory) throws(BrokerError) {
        guard directory.isRemote(party) else { return }
        let followedThere = Self.isCrossBorder(id) && (summonses[id]?.jurisdictions ?? handoffs[id]?.jurisdictions ?? operations[id]?.jurisdictions ?? [])
            .contains(party.jurisdiction)
        guard !followedThere else { return }
        throw BrokerError(.invalidTransition, "\(kind) \(id) was \(opened) without a party of \(party.jurisdiction), whose broker serves \(party.party) "
                          + "and does not follow it; open a new \(kind) that names \(party.party) from the start, so that both brokers follow it")
    }

    /// A case both brokers follow has its messages on its topics: an inbox is one broker's (the
    /// owner writes each party's copy where that party reads).
    private static func notStraightToAnInbox(_ destination: Destination, id: String) throws(BrokerError) {
        guard isCrossBorder(id), destination.kind == .queue, destination.name.hasPrefix("inbox.") else { return }
        throw BrokerError(.invalidTransition, "\(id) names parties another broker serves, which puts its copies in their inboxes there: "
                          + "send its messages to its topic (/topic/summons, /topic/handoff), not to \(destination)")
    }

    static let summonerKinds: Set<PartyKind> = [.township, .street, .coordinator]

    private func summonedParties(_ body: JSONObject, summoner: PartyIdentity, directory: WorkflowDirectory) throws(BrokerError) -> [PartyIdentity] {
        var summoned: [PartyIdentity] = []
        guard case .array(let items)? = body["summoned"] else { return [] }
        for item in items {
            switch item {
            case .string(let id):
                let identity = try directory.resolve(id, field: "summoned").get()
                if !summoned.contains(identity) { summoned.append(identity) }
            case .object(let selector):
                guard case .string(let kind)? = selector["kind"], case .string(let jurisdiction)? = selector["jurisdiction"] else { continue }
                let matching = directory.parties(kind: kind, jurisdiction: jurisdiction).map(\.identity).filter { $0 != summoner }
                if matching.isEmpty {
                    throw BrokerError(.unknownParty, "summoned names every \(kind) in \(jurisdiction), and the parties file has none besides the summoner")
                }
                for identity in matching where !summoned.contains(identity) { summoned.append(identity) }
            default:
                continue
            }
        }
        if summoned.isEmpty {
            throw BrokerError(.unknownParty, "summoned names nobody; name at least one party id or a {kind, jurisdiction} selector")
        }
        if summoned.contains(summoner) {
            throw BrokerError(.invalidTransition, "\(summoner.party) cannot summon itself")
        }
        return summoned
    }
}
