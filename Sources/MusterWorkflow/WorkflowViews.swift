/// What `muster summons show|list` and `muster handoff show|list` print, as JSON over the
/// query protocol and offline from a copy of the log: the same views either way.
/// Times are milliseconds since 1970.
public struct TimelineView: Codable, Sendable, Equatable {
    public let time: Int64
    public let party: String
    public let text: String
}

public struct SummonedPartyView: Codable, Sendable, Equatable {
    public let party: String
    public let jurisdiction: String
    /// waiting | on time | late | missed
    public let status: String
    public let deliveredAt: Int64?
    public let ackedAt: Int64?
    public let reportedInAt: Int64?
    public let lateByMilliseconds: Int64?
    public let eta: Int64?
    public let people: Int
    public let escalatedAt: Int64?
    public let score: Int?
    public let comment: String?
}

public struct SummonsView: Codable, Sendable, Equatable {
    public let id: String
    public let title: String
    public let summoner: String
    public let state: String
    public let severity: String
    public let location: String
    public let openedAt: Int64
    public let deadline: Int64
    public let closedAt: Int64?
    public let resolution: String?
    public let parties: [SummonedPartyView]
    public let timeline: [TimelineView]

    public init(_ summons: SummonsCase, deliveries: InboxDeliveries, now: Int64) {
        id = summons.id
        title = summons.title
        summoner = summons.summoner.description
        state = summons.state
        severity = summons.severity
        location = summons.location
        openedAt = summons.openedAt
        deadline = summons.deadline
        closedAt = summons.closedAt
        resolution = summons.resolution
        parties = summons.parties.map { party in
            let marks = deliveries.marks(of: summons.id, party: party.identity, reported: party.receipt)
            let status: String
            if party.reportedInAt != nil {
                status = party.lateBy(deadline: summons.deadline) == nil ? "on time" : "late"
            } else {
                status = now >= summons.deadline ? "missed" : "waiting"
            }
            return SummonedPartyView(
                party: party.identity.party, jurisdiction: party.identity.jurisdiction, status: status,
                deliveredAt: marks.deliveredAt, ackedAt: marks.ackedAt, reportedInAt: party.reportedInAt,
                lateByMilliseconds: party.lateBy(deadline: summons.deadline), eta: party.eta, people: party.people,
                escalatedAt: party.escalatedAt, score: party.score, comment: party.comment)
        }
        timeline = TimelineView.inTimeOrder(summons.timeline)
    }

    public var reportedIn: Int { parties.filter { $0.reportedInAt != nil }.count }
}

public struct HandoffView: Codable, Sendable, Equatable {
    public struct Leg: Codable, Sendable, Equatable {
        public let assignee: String
        public let receivedAt: Int64
        public let deliveredAt: Int64?
        public let ackedAt: Int64?
        public let acceptedAt: Int64?
        public let rejectedAt: Int64?
        public let transferredAt: Int64?
        public let completedAt: Int64?
        public let escalatedAt: Int64?
    }

    public let id: String
    public let title: String
    public let taskType: String
    public let reference: String
    public let originator: String
    public let assignee: String
    public let state: String
    public let dispatchedAt: Int64
    public let due: Int64
    public let overdue: Bool
    public let result: String?
    /// The originator's own rating and the citizen's (relayed), 1–5.
    public let originatorScore: Int?
    public let citizenScore: Int?
    public let legs: [Leg]
    public let timeline: [TimelineView]

    public init(_ handoff: HandoffCase, deliveries: InboxDeliveries, now: Int64) {
        id = handoff.id
        title = handoff.title
        taskType = handoff.taskType
        reference = handoff.reference
        originator = handoff.originator.description
        assignee = handoff.assignee.description
        state = handoff.state
        dispatchedAt = handoff.dispatchedAt
        due = handoff.due
        let finished = handoff.legs.last?.completedAt
        overdue = (finished ?? now) > handoff.due
        result = handoff.result
        originatorScore = handoff.ratings["originator"]
        citizenScore = handoff.ratings["citizen"]
        legs = handoff.legs.map { leg in
            let marks = deliveries.marks(of: handoff.id, party: leg.assignee, reported: leg.receipt)
            return Leg(assignee: leg.assignee.description, receivedAt: leg.receivedAt, deliveredAt: marks.deliveredAt, ackedAt: marks.ackedAt,
                       acceptedAt: leg.acceptedAt, rejectedAt: leg.rejectedAt, transferredAt: leg.transferredAt,
                       completedAt: leg.completedAt, escalatedAt: leg.escalatedAt)
        }
        timeline = TimelineView.inTimeOrder(handoff.timeline)
    }
}

public struct JointOperationView: Codable, Sendable, Equatable {
    public let id: String
    public let title: String
    public let opener: String
    public let channel: String
    public let state: String
    public let members: [String]
    public let notices: Int
    public let summary: String?
    public let timeline: [TimelineView]

    public init(_ operation: JointOperationCase) {
        id = operation.id
        title = operation.title
        opener = operation.opener.description
        channel = operation.channel.description
        state = operation.state
        members = operation.members.map(\.description)
        notices = operation.notices
        summary = operation.summary
        timeline = TimelineView.inTimeOrder(operation.timeline)
    }
}

extension TimelineView {
    /// The entries by time, those of the same time in the order they were taken: a cross-border
    /// case takes a report-in made during a cut link after the escalations written meanwhile,
    /// and both brokers show it in its place.
    static func inTimeOrder(_ entries: [TimelineEntry]) -> [TimelineView] {
        entries.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            .map { TimelineView(time: $0.element.time, party: $0.element.party.description, text: $0.element.text) }
    }
}
