import MusterStomp
public import MusterProtocol
import MusterSchema
public import MusterBroker

/// What the broker owes at a given moment: inbox copies not yet written, reminders due,
/// escalations of missed deadlines. Each answer is a publication; once stored it is fed back
/// through `handle`, which marks it done, so a restart owes exactly what was not yet written.
/// A deadline that passed while the broker was down is escalated at the next call, and the
/// escalation names the deadline itself.
extension WorkflowBook {
    public static let escalationTopic = Destination(kind: .topic, name: "escalation")

    public static func inbox(of party: PartyIdentity) -> Destination {
        Destination(kind: .queue, name: "inbox.\(party.party)")
    }

    /// What the broker writes for `party`: in its inbox here, or, when a linked broker serves
    /// it, on the cross-border transit topic naming it as the recipient (that broker's link
    /// stores it in the party's inbox there).
    static func addressed(_ headers: StompHeaders, to party: PartyIdentity, body: [UInt8], broker: PartyIdentity,
                          directory: WorkflowDirectory) -> Publication {
        guard directory.isRemote(party) else { return Publication(destination: inbox(of: party), headers: headers, body: body, sender: broker) }
        var headers = headers
        headers[WorkflowHeader.recipient] = party.description
        return Publication(destination: WorkflowHeader.crossBorderTransit, headers: headers, body: body, sender: broker)
    }

    /// The messages owed at `now`, written by `broker`. Only the cases the timer index names
    /// are looked at (those owing copies, and those whose next time has come).
    public func dueMessages(now: Int64, broker: PartyIdentity, directory: WorkflowDirectory) -> [Publication] {
        var owed: [Publication] = []
        func stamped(_ type: WorkflowType, _ event: WorkflowEventKind, id: String, party: PartyIdentity) -> StompHeaders {
            var headers = StompHeaders()
            headers[ReservedHeader.type] = type.rawValue
            headers[WorkflowHeader.event] = event.rawValue
            headers[WorkflowHeader.id] = id
            headers[WorkflowHeader.party] = party.description
            headers[WorkflowHeader.time] = String(now)
            headers["content-type"] = "application/json"
            return headers
        }
        for key in timerIndex.due(now: now) {
            switch key.kind {
            case .summons:
                guard let summons = summonses[key.id], summons.state == "open", summons.owner == nil else { continue }
                for party in summons.parties {
                    if !party.copied {
                        var headers = stamped(.summons, .inboxCopy, id: key.id, party: party.identity)
                        headers[WorkflowHeader.deadline] = WorkflowTime.rfc3339(summons.deadline)
                        owed.append(Self.addressed(headers, to: party.identity, body: summons.openBody, broker: broker, directory: directory))
                    }
                    guard party.reportedInAt == nil else { continue }
                    if now >= summons.deadline {
                        if party.escalatedAt == nil {
                            owed += escalation(id: key.id, idField: "summonsId", missing: party.identity, deadline: summons.deadline, notify: summons.summoner,
                                               reason: "\(party.identity.party) did not report in to summons \(key.id) (\(summons.title)) by its deadline",
                                               now: now, broker: broker, directory: directory, stamped: stamped)
                        }
                    } else if let before = summons.reminders.last(where: { summons.deadline - $0 <= now }),
                              before < (party.lastReminder ?? .max) {
                        var headers = stamped(.summons, .reminder, id: key.id, party: party.identity)
                        headers[WorkflowHeader.deadline] = WorkflowTime.rfc3339(summons.deadline)
                        headers[WorkflowHeader.reminder] = String(before)
                        owed.append(Self.addressed(headers, to: party.identity, body: summons.openBody, broker: broker, directory: directory))
                    }
                }
            case .handoff:
                guard let handoff = handoffs[key.id], handoff.owner == nil else { continue }
                let leg = handoff.legs[handoff.legs.count - 1]
                let active = WorkflowDefinition.handoff.timers.contains { $0.activeIn.contains(handoff.state) }
                if !leg.copied, handoff.state == "dispatched" {
                    var headers = stamped(.handoff, .inboxCopy, id: key.id, party: leg.assignee)
                    headers[WorkflowHeader.deadline] = WorkflowTime.rfc3339(handoff.due)
                    headers[WorkflowHeader.assignee] = leg.assignee.description
                    owed.append(Self.addressed(headers, to: leg.assignee, body: handoff.dispatchBody, broker: broker, directory: directory))
                }
                if active, now >= handoff.due, leg.escalatedAt == nil {
                    owed += escalation(id: key.id, idField: "handoffId", missing: leg.assignee, deadline: handoff.due, notify: handoff.originator,
                                       reason: "hand-off \(key.id) (\(handoff.title)) with \(leg.assignee.party) is \(handoff.state) past its due time",
                                       now: now, broker: broker, directory: directory, stamped: stamped)
                }
            }
        }
        return owed
    }

    /// The earliest moment something will be owed that is not owed now; nil when nothing waits.
    public func nextDeadline() -> Int64? { timerIndex.earliest }

    /// Updates the timer index for the case a message changed (after `handle` took it).
    mutating func reindex(caseID id: String) {
        if let summons = summonses[id] {
            var next: Int64?
            // A case a linked broker opened is timed there: nothing is owed here.
            if summons.state == "open", summons.owner == nil {
                for party in summons.parties where party.reportedInAt == nil && party.escalatedAt == nil {
                    next = min(next ?? summons.deadline, summons.deadline)
                    for before in summons.reminders where before < (party.lastReminder ?? .max) { next = min(next!, summons.deadline - before) }
                }
            }
            timerIndex.update(timerIndex.key(.summons, id), copiesOwed: summons.state == "open" && summons.owner == nil && summons.parties.contains { !$0.copied },
                              wakeAt: next)
        }
        if let handoff = handoffs[id], let leg = handoff.legs.last {
            let active = handoff.owner == nil && WorkflowDefinition.handoff.timers.contains { $0.activeIn.contains(handoff.state) }
            timerIndex.update(timerIndex.key(.handoff, id), copiesOwed: handoff.owner == nil && !leg.copied && handoff.state == "dispatched",
                              wakeAt: active && leg.escalatedAt == nil ? handoff.due : nil)
        }
    }

    /// Builds the timer index from every case (after decoding a book).
    mutating func reindexAll() {
        timerIndex = WorkflowTimerIndex()
        for id in summonsOrder { reindex(caseID: id) }
        for id in handoffOrder { reindex(caseID: id) }
    }

    /// The escalation record (on the escalation topic) and its copies to the summoner or
    /// originator and the missing party's supervisor.
    private func escalation(id: String, idField: String, missing: PartyIdentity, deadline: Int64, notify summoner: PartyIdentity, reason: String,
                            now: Int64, broker: PartyIdentity, directory: WorkflowDirectory,
                            stamped: (WorkflowType, WorkflowEventKind, String, PartyIdentity) -> StompHeaders) -> [Publication] {
        var notify = [summoner]
        if let supervisor = directory.supervisor(of: missing), supervisor != summoner { notify.append(supervisor) }
        let body = JSONValue.object(JSONObject([
            (idField, .string(id)),
            ("missingParty", .string(missing.party)),
            ("deadline", .string(WorkflowTime.rfc3339(deadline))),
            ("escalatedAt", .string(WorkflowTime.rfc3339(now))),
            ("notify", .array(notify.map { .string($0.party) })),
            ("reason", .string(reason)),
        ]))
        let bytes = Array(body.jsonText.utf8)
        var records = [Publication(destination: Self.escalationTopic, headers: stamped(.escalation, .escalation, id, missing), body: bytes, sender: broker)]
        for party in notify {
            records.append(Self.addressed(stamped(.escalation, .inboxCopy, id, missing), to: party, body: bytes, broker: broker, directory: directory))
        }
        return records
    }
}
