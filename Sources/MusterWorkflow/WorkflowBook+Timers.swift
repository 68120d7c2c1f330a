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

    /// The messages owed at `now`, written by `broker`.
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
        for id in summonsOrder {
            let summons = summonses[id]!
            guard summons.state == "open" else { continue }
            for party in summons.parties {
                if !party.copied {
                    var headers = stamped(.summons, .inboxCopy, id: id, party: party.identity)
                    headers[WorkflowHeader.deadline] = WorkflowTime.rfc3339(summons.deadline)
                    owed.append(Publication(destination: Self.inbox(of: party.identity), headers: headers, body: summons.openBody, sender: broker))
                }
                guard party.reportedInAt == nil else { continue }
                if now >= summons.deadline {
                    if party.escalatedAt == nil {
                        owed += escalation(id: id, idField: "summonsId", missing: party.identity, deadline: summons.deadline, notify: summons.summoner,
                                           reason: "\(party.identity.party) did not report in to summons \(id) (\(summons.title)) by its deadline",
                                           now: now, broker: broker, directory: directory, stamped: stamped)
                    }
                } else if let before = summons.reminders.last(where: { summons.deadline - $0 <= now }),
                          before < (party.lastReminder ?? .max) {
                    var headers = stamped(.summons, .reminder, id: id, party: party.identity)
                    headers[WorkflowHeader.deadline] = WorkflowTime.rfc3339(summons.deadline)
                    headers[WorkflowHeader.reminder] = String(before)
                    owed.append(Publication(destination: Self.inbox(of: party.identity), headers: headers, body: summons.openBody, sender: broker))
                }
            }
        }
        for id in handoffOrder {
            let handoff = handoffs[id]!
            let leg = handoff.legs[handoff.legs.count - 1]
            let active = WorkflowDefinition.handoff.timers.contains { $0.activeIn.contains(handoff.state) }
            if !leg.copied, handoff.state == "dispatched" {
                var headers = stamped(.handoff, .inboxCopy, id: id, party: leg.assignee)
                headers[WorkflowHeader.deadline] = WorkflowTime.rfc3339(handoff.due)
                headers[WorkflowHeader.assignee] = leg.assignee.description
                owed.append(Publication(destination: Self.inbox(of: leg.assignee), headers: headers, body: handoff.dispatchBody, sender: broker))
            }
            if active, now >= handoff.due, leg.escalatedAt == nil {
                owed += escalation(id: id, idField: "handoffId", missing: leg.assignee, deadline: handoff.due, notify: handoff.originator,
                                   reason: "hand-off \(id) (\(handoff.title)) with \(leg.assignee.party) is \(handoff.state) past its due time",
                                   now: now, broker: broker, directory: directory, stamped: stamped)
            }
        }
        return owed
    }

    /// The earliest moment something will be owed that is not owed now; nil when nothing waits.
    public func nextDeadline() -> Int64? {
        var next: Int64?
        func consider(_ time: Int64) { next = min(next ?? time, time) }
        for summons in summonses.values where summons.state == "open" {
            for party in summons.parties where party.reportedInAt == nil && party.escalatedAt == nil {
                consider(summons.deadline)
                for before in summons.reminders where before < (party.lastReminder ?? .max) { consider(summons.deadline - before) }
            }
        }
        for handoff in handoffs.values where handoff.legs.last?.escalatedAt == nil
            && WorkflowDefinition.handoff.timers.contains(where: { $0.activeIn.contains(handoff.state) }) {
            consider(handoff.due)
        }
        return next
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
            records.append(Publication(destination: Self.inbox(of: party), headers: stamped(.escalation, .inboxCopy, id, missing), body: bytes, sender: broker))
        }
        return records
    }
}
