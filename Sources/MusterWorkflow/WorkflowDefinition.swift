/// Who may take a workflow step, relative to the case it acts on.
public enum WorkflowRole: String, Sendable {
    /// Anyone the topic's policy lets publish (the step that opens a case).
    case anyone
    /// The party that blew the whistle.
    case summoner
    /// A party the summons named.
    case summoned
    /// The party that dispatched the hand-off.
    case originator
    /// The party the hand-off is with now.
    case assignee
    /// The party that opened the joint operation.
    case opener
    /// A member of the joint operation.
    case member
    /// The party named in the message itself (a party joining an operation on its own behalf).
    case named
}

/// One step a workflow allows: the action, the states it may be taken in, the state it
/// leads to, and who may take it.
public struct WorkflowStep: Sendable {
    public let action: String
    /// States the case must be in; empty: the step opens a new case.
    public let from: [String]
    /// The state after the step; nil: unchanged.
    public let to: String?
    public let by: [WorkflowRole]

    public init(_ action: String, from: [String], to: String? = nil, by: [WorkflowRole]) {
        self.action = action
        self.from = from
        self.to = to
        self.by = by
    }
}

/// A deadline the broker watches: while the case is in one of `activeIn`, a party that has
/// not done its part by the deadline is escalated.
public struct WorkflowTimer: Sendable {
    public let name: String
    public let activeIn: [String]
}

/// A workflow as data: its states, its steps and its timers. The book enforces it; the
/// per-party rules a table cannot say (report in once, evaluate once) live beside each case.
public struct WorkflowDefinition: Sendable {
    public let name: String
    public let states: [String]
    public let steps: [WorkflowStep]
    public let timers: [WorkflowTimer]

    public func step(_ action: String) -> WorkflowStep? { steps.first { $0.action == action } }

    /// Why `action` by a party holding `roles` is not allowed in `state`; nil when it is.
    public func refusal(_ action: String, caseID: String, state: String, roles: Set<WorkflowRole>, actor: String) -> String? {
        guard let step = step(action) else { return "\(name) has no action '\(action)'" }
        if !step.from.contains(state) {
            let allowed = step.from.isEmpty ? "only to open a new \(name)" : "only when it is \(step.from.joined(separator: " or "))"
            return "\(name) \(caseID) is \(state); \(action) is allowed \(allowed)"
        }
        if !step.by.contains(.anyone), roles.isDisjoint(with: step.by) {
            return "\(name) \(caseID) is \(state); \(action) may be sent only by its \(step.by.map(\.rawValue).joined(separator: " or ")), not by \(actor)"
        }
        return nil
    }

    /// 吹哨报到: open, report in, progress notes, close by the summoner, then evaluations.
    public static let summons = WorkflowDefinition(
        name: "summons", states: ["open", "closed"],
        steps: [
            WorkflowStep("open", from: [], to: "open", by: [.anyone]),
            WorkflowStep("report-in", from: ["open"], by: [.summoned]),
            WorkflowStep("progress", from: ["open"], by: [.summoner, .summoned]),
            WorkflowStep("close", from: ["open"], to: "closed", by: [.summoner]),
            WorkflowStep("evaluation", from: ["closed"], by: [.summoner]),
        ],
        timers: [WorkflowTimer(name: "deadline: each summoned party that has not reported in is reminded, then escalated", activeIn: ["open"])])

    /// 派单 → 接单 → 办结 → 评价: one ticket from dispatch to rating.
    public static let handoff = WorkflowDefinition(
        name: "hand-off", states: ["dispatched", "accepted", "rejected", "completed", "rated"],
        steps: [
            WorkflowStep("dispatch", from: [], to: "dispatched", by: [.anyone]),
            WorkflowStep("accept", from: ["dispatched"], to: "accepted", by: [.assignee]),
            WorkflowStep("reject", from: ["dispatched"], to: "rejected", by: [.assignee]),
            WorkflowStep("transfer", from: ["dispatched", "accepted", "rejected"], to: "dispatched", by: [.assignee, .originator]),
            WorkflowStep("progress", from: ["accepted"], by: [.assignee, .originator]),
            WorkflowStep("complete", from: ["accepted"], to: "completed", by: [.assignee]),
            WorkflowStep("rate", from: ["completed", "rated"], to: "rated", by: [.originator]),
        ],
        timers: [WorkflowTimer(name: "due: an assignee that has not completed by the due time is escalated", activeIn: ["dispatched", "accepted"])])

    /// 联合行动: a time-bound channel among parties of several jurisdictions.
    public static let jointOperation = WorkflowDefinition(
        name: "joint operation", states: ["open", "closed"],
        steps: [
            WorkflowStep("open", from: [], to: "open", by: [.anyone]),
            WorkflowStep("join", from: ["open"], by: [.named, .opener]),
            WorkflowStep("notice", from: ["open"], by: [.member]),
            WorkflowStep("close", from: ["open"], to: "closed", by: [.opener]),
        ],
        timers: [])
}
