import MusterProtocol
/// Summons (吹哨报到): open, inbox copies and reminders, report-ins, progress notes, close,
/// evaluations. The table is `WorkflowDefinition.summons`; the per-party rules are here.
extension WorkflowBook {
    mutating func handleSummons(_ message: WorkflowMessage) throws(BrokerError) {
        let definition = WorkflowDefinition.summons
        if message.type == .summons, message.action == "open" {
            try openSummons(message)
            return
        }
        guard let id = message.caseID, var summons = summonses[id] else { throw Self.unknown("summons", message.caseID) }
        let sender = message.sender
        switch message.event {
        case .inboxCopy?, .reminder?, .receipt?:
            guard let party = message.party(header: WorkflowHeader.party), let index = summons.index(of: party) else { return }
            if message.event == .receipt {
                summons.parties[index].receipt = Self.receiptMarks(message)
            } else if message.event == .inboxCopy {
                summons.parties[index].copied = true
            } else if let before = message.headers[WorkflowHeader.reminder].flatMap({ Int64($0) }) {
                summons.parties[index].lastReminder = min(before, summons.parties[index].lastReminder ?? .max)
                summons.timeline.append(TimelineEntry(time: message.time, party: party, text: "reminded: \(WorkflowTime.humanDuration(before)) before the deadline"))
            }
            summonses[id] = summons
            return
        case .escalation?:
            return
        case nil:
            break
        }
        var roles: Set<WorkflowRole> = []
        if sender == summons.summoner { roles.insert(.summoner) }
        if summons.index(of: sender) != nil { roles.insert(.summoned) }
        let action = message.type == .summons ? message.action : message.type.rawValue
        // A party's step its broker took while the summons was still open there (its origin time
        // is before the close; a cut link held it back) is judged as it was taken: open.
        let heldBack = message.origin != nil && summons.state == "closed" && summons.closedAt.map { message.time < $0 } == true
            && ["report-in", "progress"].contains(action)
        if let refusal = definition.refusal(action, caseID: id, state: heldBack ? "open" : summons.state, roles: roles, actor: sender.party) {
            throw Self.refused(refusal)
        }
        switch action {
        case "report-in":
            let index = summons.index(of: sender)!
            if let earlier = summons.parties[index].reportedInAt {
                throw Self.refused("summons \(id) is open; \(sender.party) already reported in at \(WorkflowTime.rfc3339(earlier)), and a report-in cannot be withdrawn or repeated; send a progress note instead")
            }
            summons.parties[index].reportedInAt = message.time
            summons.parties[index].eta = message.string("eta").flatMap { WorkflowTime.milliseconds(pointInTime: $0, from: message.time) }
            if case .array(let people)? = message.body["people"] { summons.parties[index].people = people.count }
            summons.parties[index].note = message.string("note")
            let late = summons.parties[index].lateBy(deadline: summons.deadline)
            summons.timeline.append(TimelineEntry(time: message.time, party: sender, text: "reported in"
                + (late.map { ", late by \(WorkflowTime.humanDuration($0))" } ?? ", on time")
                + (summons.parties[index].eta.map { "; on site by \(WorkflowTime.rfc3339($0))" } ?? "")))
        case "progress":
            summons.timeline.append(TimelineEntry(time: message.time, party: sender, text: "progress: \(message.string("note") ?? "")"))
        case "close":
            summons.state = "closed"
            summons.closedAt = message.string("closedAt").flatMap(WorkflowTime.milliseconds(rfc3339:)) ?? message.time
            summons.resolution = message.string("resolution")
            summons.timeline.append(TimelineEntry(time: message.time, party: sender, text: "closed: \(summons.resolution ?? "")"))
        case "evaluation":
            let partyID = message.string("party") ?? ""
            guard let index = summons.index(ofID: partyID) else {
                throw Self.refused("summons \(id) is closed; \(partyID) was not summoned by it, so it cannot be evaluated on it")
            }
            if let score = summons.parties[index].score {
                throw Self.refused("summons \(id) is closed; \(partyID) was already evaluated (score \(score))")
            }
            summons.parties[index].score = message.integer("score")
            summons.parties[index].comment = message.string("comment")
            summons.timeline.append(TimelineEntry(time: message.time, party: sender, text: "evaluated \(partyID): \(message.integer("score") ?? 0)/5"))
        default:
            break
        }
        summonses[id] = summons
    }

    static func receiptMarks(_ message: WorkflowMessage) -> InboxDeliveries.Marks {
        InboxDeliveries.Marks(deliveredAt: message.headers[WorkflowHeader.deliveredAt].flatMap { Int64($0) },
                              ackedAt: message.headers[WorkflowHeader.ackedAt].flatMap { Int64($0) })
    }

    private mutating func openSummons(_ message: WorkflowMessage) throws(BrokerError) {
        guard message.event == nil, let id = message.caseID, summonses[id] == nil else {
            throw Self.refused("summons \(message.caseID ?? "") is already open")
        }
        guard let deadline = message.headers[WorkflowHeader.deadline].flatMap(WorkflowTime.milliseconds(rfc3339:)) else {
            throw Self.refused("the summons has no deadline")
        }
        var reminders: [Int64] = []
        if case .array(let items)? = message.body["reminders"] {
            reminders = items.compactMap { if case .string(let text) = $0 { WorkflowTime.milliseconds(duration: text) } else { nil } }
        }
        var location = ""
        if case .object(let place)? = message.body["location"], case .string(let name)? = place["name"] { location = name }
        var summons = SummonsCase(
            id: id, summoner: message.sender, openedAt: message.time, deadline: deadline, reminders: reminders.sorted(by: >),
            title: message.string("title") ?? "", location: location, severity: message.string("severity") ?? "",
            reference: message.string("reference"), openBody: message.publication.body,
            parties: message.parties(header: WorkflowHeader.summoned).map { party in
                // Sent straight to a summoned party's inbox, the summons is that party's copy.
                var summoned = SummonedParty(identity: party)
                summoned.copied = message.destination == Self.inbox(of: party)
                return summoned
            })
        summons.owner = message.origin
        summons.timeline.append(TimelineEntry(time: message.time, party: message.sender,
                                              text: "whistle blown: \(summons.title); \(summons.parties.count) parties due by \(WorkflowTime.rfc3339(deadline))"))
        summonses[id] = summons
        summonsOrder.append(id)
    }
}
