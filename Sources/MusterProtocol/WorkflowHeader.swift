/// Headers the workflow desk stamps on the messages of summonses, hand-offs and joint
/// operations (and on what it writes itself). Clients may not send them: they are how the
/// workflow state is rebuilt from the log, so only the broker writes them.
public enum WorkflowHeader {
    /// The summons, hand-off or operation the message belongs to (`s-N`, `h-N`, `op-N`);
    /// assigned by the broker when it accepts an open or a dispatch.
    public static let id = "muster-workflow-id"
    /// When the workflow took the message (ms since 1970): every deadline and duration is
    /// counted from it.
    public static let time = "muster-workflow-time"
    /// What the broker wrote: `inbox-copy`, `reminder` or `escalation`.
    public static let event = "muster-workflow-event"
    /// The party an inbox copy, reminder or escalation is about (`JURISDICTION/PARTY`).
    public static let party = "muster-workflow-party"
    /// On a summons open: every summoned party (`JURISDICTION/PARTY`, comma-separated), selectors resolved.
    public static let summoned = "muster-summoned"
    /// On a summons open or a dispatch: the deadline or due time (RFC 3339).
    public static let deadline = "muster-deadline"
    /// On a dispatch and a transfer: the assignee (`JURISDICTION/PARTY`).
    public static let assignee = "muster-assignee"
    /// On a reminder: how long before the deadline it is (ms).
    public static let reminder = "muster-workflow-reminder"
    /// On a joint-operation open: every member (`JURISDICTION/PARTY`, comma-separated).
    public static let members = "muster-members"
    /// On what the broker writes for a party another broker serves (a copy, a reminder, an
    /// escalation's copy): that party (`JURISDICTION/PARTY`). Its broker stores the record in the
    /// party's inbox.
    public static let recipient = "muster-workflow-recipient"
    /// On a receipt: when the party's adapter was first given its copy, and first acknowledged it (ms).
    public static let deliveredAt = "muster-workflow-delivered-at"
    public static let ackedAt = "muster-workflow-acked-at"
    /// On a workflow record a federation link brought: when this broker took it (ms). No record
    /// is judged later than it arrived.
    public static let receivedAt = "muster-workflow-received"

    /// Every header above: refused when a client sends it.
    public static let all: Set<String> = [id, time, event, party, summoned, deadline, assignee, members, reminder, recipient, deliveredAt, ackedAt, receivedAt]

    /// Where a broker writes what it owes a party of a linked jurisdiction (with `recipient`), and
    /// the receipts it writes for a linked broker: reserved, read by no client; the link to that
    /// jurisdiction carries it.
    public static let crossBorderTransit = Destination(kind: .topic, name: "muster.workflow")
}

/// What the broker itself writes for a workflow (the value of `muster-workflow-event`).
public enum WorkflowEventKind: String, Sendable {
    /// A copy of a summons or a dispatch in the inbox of a party it concerns.
    case inboxCopy = "inbox-copy"
    /// A reminder to a summoned party that has not reported in.
    case reminder
    /// A missed deadline, told to the summoner or originator and to the party's supervisor.
    case escalation
    /// When a party of a cross-border case got and acknowledged its copy, written by the broker
    /// that serves the party for the brokers of the case's other jurisdictions.
    case receipt
}

/// The message types the workflows follow.
public enum WorkflowType: String, Sendable, CaseIterable {
    case summons
    case reportIn = "report-in"
    case evaluation
    case handoff
    case jointOperation = "joint-operation"
    case escalation
}
