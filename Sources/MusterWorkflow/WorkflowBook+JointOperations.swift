import MusterProtocol
/// Joint operations (联合行动). The table is `WorkflowDefinition.jointOperation`; an
/// operation's join, notice and close messages go to its own channel, /topic/joint.ID.
extension WorkflowBook {
    mutating func handleOperation(_ message: WorkflowMessage) throws(BrokerError) {
        guard message.event == nil else { return }
        let sender = message.sender
        if message.action == "open" {
            guard let id = message.caseID, operations[id] == nil else { throw Self.refused("operation \(message.caseID ?? "") is already open") }
            var start = message.time, end = Int64.max
            if case .object(let window)? = message.body["window"] {
                if case .string(let text)? = window["start"], let value = WorkflowTime.milliseconds(rfc3339: text) { start = value }
                if case .string(let text)? = window["end"], let value = WorkflowTime.milliseconds(rfc3339: text) { end = value }
            }
            var operation = JointOperationCase(id: id, opener: sender, title: message.string("title") ?? "", openedAt: message.time,
                                               windowStart: start, windowEnd: end, members: message.parties(header: WorkflowHeader.members))
            operation.owner = message.origin
            operation.timeline.append(TimelineEntry(time: message.time, party: sender,
                                                    text: "opened \(operation.title) with \(operation.members.map(\.party).joined(separator: ", ")) on \(operation.channel)"))
            operations[id] = operation
            operationOrder.append(id)
            return
        }
        guard let id = message.caseID, var operation = operations[id] else { throw Self.unknown("joint operation", message.caseID) }
        guard message.destination == operation.channel else {
            throw Self.refused("operation \(id) is \(operation.state); send its \(message.action) messages to its channel \(operation.channel), not \(message.destination)")
        }
        var roles: Set<WorkflowRole> = []
        if sender == operation.opener { roles.insert(.opener) }
        if operation.members.contains(sender) { roles.insert(.member) }
        let joining = message.party(header: WorkflowHeader.party)
        if joining == sender { roles.insert(.named) }
        if let refusal = WorkflowDefinition.jointOperation.refusal(message.action, caseID: id, state: operation.state, roles: roles, actor: sender.party) {
            throw Self.refused(refusal)
        }
        switch message.action {
        case "join":
            guard let joining, !operation.members.contains(joining) else {
                throw Self.refused("operation \(id) is open; \(joining?.party ?? "that party") is already a member")
            }
            operation.members.append(joining)
            operation.timeline.append(TimelineEntry(time: message.time, party: sender, text: "\(joining.party) joined"))
        case "notice":
            operation.notices += 1
            operation.timeline.append(TimelineEntry(time: message.time, party: sender, text: "notice: \(message.string("text") ?? "")"))
        case "close":
            operation.state = "closed"
            operation.summary = message.string("summary")
            operation.timeline.append(TimelineEntry(time: message.time, party: sender, text: "closed: \(operation.summary ?? "")"))
        default:
            break
        }
        operations[id] = operation
    }
}
