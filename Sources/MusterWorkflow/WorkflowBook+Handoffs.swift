import MusterProtocol
/// Hand-offs (派单 → 接单 → 办结 → 评价). The table is `WorkflowDefinition.handoff`.
extension WorkflowBook {
    mutating func handleHandoff(_ message: WorkflowMessage) throws(BrokerError) {
        if message.action == "dispatch" {
            try dispatch(message)
            return
        }
        guard let id = message.caseID, var handoff = handoffs[id] else { throw Self.unknown("hand-off", message.caseID) }
        let sender = message.sender
        if message.event == .inboxCopy {
            if let party = message.party(header: WorkflowHeader.party), handoff.assignee == party {
                handoff.legs[handoff.legs.count - 1].copied = true
                handoffs[id] = handoff
            }
            return
        }
        if message.event == .receipt {
            if let party = message.party(header: WorkflowHeader.party), let index = handoff.legs.lastIndex(where: { $0.assignee == party }) {
                handoff.legs[index].receipt = Self.receiptMarks(message)
                handoffs[id] = handoff
            }
            return
        }
        guard message.event == nil else { return }
        var roles: Set<WorkflowRole> = []
        if sender == handoff.originator { roles.insert(.originator) }
        if sender == handoff.assignee { roles.insert(.assignee) }
        let definition = WorkflowDefinition.handoff
        if let refusal = definition.refusal(message.action, caseID: id, state: handoff.state, roles: roles, actor: sender.party) {
            throw Self.refused(refusal + " (assignee: \(handoff.assignee.party))")
        }
        let rater = message.string("rater") ?? "originator"
        if message.action == "rate", let earlier = handoff.ratings[rater] {
            throw Self.refused("hand-off \(id) is rated; the \(rater)'s rating (\(earlier)/5) was already given, and each rater rates once")
        }
        let current = handoff.legs.count - 1
        var text = message.action
        switch message.action {
        case "accept":
            handoff.legs[current].acceptedAt = message.time
            text = "accepted" + (message.string("note").map { ": \($0)" } ?? "")
        case "reject":
            handoff.legs[current].rejectedAt = message.time
            text = "rejected: \(message.string("reason") ?? "")"
        case "transfer":
            guard let next = message.party(header: WorkflowHeader.assignee) else { throw Self.refused("the transfer names no party") }
            if next == handoff.assignee {
                throw Self.refused("hand-off \(id) is \(handoff.state) with \(next.party) already; transfer it to another party")
            }
            // An assignee passing the task on has transferred it; an originator re-routing a rejected task has not made the rejecting party transfer anything.
            if sender == handoff.assignee { handoff.legs[current].transferredAt = message.time }
            handoff.legs.append(HandoffLeg(assignee: next, receivedAt: message.time))
            text = "transferred to \(next.party): \(message.string("reason") ?? "")"
        case "progress":
            text = "progress: \(message.string("note") ?? "")"
        case "complete":
            handoff.legs[current].completedAt = message.time
            handoff.result = message.string("result")
            text = "completed: \(handoff.result ?? "")"
        case "rate":
            let score = message.integer("score") ?? 0
            handoff.ratings[rater] = score
            text = "rated \(score)/5 (\(rater))"
        default:
            break
        }
        if let next = definition.step(message.action)?.to { handoff.state = next }
        handoff.timeline.append(TimelineEntry(time: message.time, party: sender, text: text))
        handoffs[id] = handoff
    }

    private mutating func dispatch(_ message: WorkflowMessage) throws(BrokerError) {
        guard message.event == nil, let id = message.caseID, handoffs[id] == nil else {
            if message.event == .inboxCopy { return }
            throw Self.refused("hand-off \(message.caseID ?? "") was already dispatched")
        }
        guard let assignee = message.party(header: WorkflowHeader.assignee),
              let due = message.headers[WorkflowHeader.deadline].flatMap(WorkflowTime.milliseconds(rfc3339:)) else {
            throw Self.refused("the dispatch has no assignee or due time")
        }
        var handoff = HandoffCase(
            id: id, originator: message.sender, dispatchedAt: message.time, due: due, taskType: message.string("taskType") ?? "",
            title: message.string("title") ?? "", reference: message.string("reference") ?? "", complaintID: message.string("complaintId"),
            dispatchBody: message.publication.body, legs: [HandoffLeg(assignee: assignee, receivedAt: message.time)])
        handoff.owner = message.origin
        // Sent straight to the assignee's inbox, the dispatch is its own copy.
        handoff.legs[0].copied = message.destination == Self.inbox(of: assignee)
        handoff.timeline.append(TimelineEntry(time: message.time, party: message.sender,
                                              text: "dispatched \(handoff.taskType) to \(assignee.party), due \(WorkflowTime.rfc3339(due))"))
        handoffs[id] = handoff
        handoffOrder.append(id)
    }
}
