public import MusterProtocol
/// One line of a case's timeline: when, who, what.
public struct TimelineEntry: Sendable, Equatable, Codable {
    public let time: Int64
    public let party: PartyIdentity
    public let text: String
}

/// A summons (吹哨) and, for each summoned party, how it answered.
public struct SummonsCase: Sendable, Codable {
    public let id: String
    public let summoner: PartyIdentity
    public let openedAt: Int64
    public let deadline: Int64
    /// Reminder points, milliseconds before the deadline.
    public let reminders: [Int64]
    public let title: String
    public let location: String
    public let severity: String
    public let reference: String?
    /// The open message as the summoner sent it: what inbox copies and reminders carry.
    @Base64Bytes public private(set) var openBody: [UInt8]
    public internal(set) var state: String = "open"
    public internal(set) var parties: [SummonedParty]
    public internal(set) var closedAt: Int64?
    public internal(set) var resolution: String?
    public internal(set) var timeline: [TimelineEntry] = []
    /// The jurisdiction whose broker opened the case and owns its timers; nil: this broker.
    public internal(set) var owner: String?

    /// The jurisdictions of every party in the case.
    public var jurisdictions: Set<String> { Set([summoner.jurisdiction] + parties.map(\.identity.jurisdiction)) }

    public func index(of party: PartyIdentity) -> Int? { parties.firstIndex { $0.identity == party } }
    public func index(ofID id: String) -> Int? { parties.firstIndex { $0.identity.party == id } }
}

/// A summoned party's answer to one summons.
public struct SummonedParty: Sendable, Codable {
    public let identity: PartyIdentity
    /// The broker wrote the summons into the party's inbox.
    public internal(set) var copied = false
    /// The smallest reminder point (ms before the deadline) already sent.
    public internal(set) var lastReminder: Int64?
    public internal(set) var reportedInAt: Int64?
    public internal(set) var eta: Int64?
    public internal(set) var people = 0
    public internal(set) var note: String?
    public internal(set) var escalatedAt: Int64?
    public internal(set) var score: Int?
    public internal(set) var comment: String?
    /// What the broker serving the party reported (a receipt) of a cross-border case.
    public internal(set) var receipt: InboxDeliveries.Marks?

    /// How late the report-in came; nil when on time or not (yet) reported in.
    public func lateBy(deadline: Int64) -> Int64? {
        guard let reportedInAt, reportedInAt > deadline else { return nil }
        return reportedInAt - deadline
    }
}

/// A hand-off (派单): one ticket from dispatch to rating.
public struct HandoffCase: Sendable, Codable {
    public let id: String
    public let originator: PartyIdentity
    public let dispatchedAt: Int64
    public let due: Int64
    public let taskType: String
    public let title: String
    public let reference: String
    public let complaintID: String?
    @Base64Bytes public private(set) var dispatchBody: [UInt8]
    public internal(set) var state: String = "dispatched"
    /// Each assignee in turn, the current one last.
    public internal(set) var legs: [HandoffLeg]
    public internal(set) var result: String?
    /// Scores by rater: `originator` (its own) and `citizen` (relayed from the return call), one each.
    public internal(set) var ratings: [String: Int] = [:]
    public internal(set) var timeline: [TimelineEntry] = []
    /// The jurisdiction whose broker dispatched the hand-off and owns its timers; nil: this broker.
    public internal(set) var owner: String?

    public var assignee: PartyIdentity { legs[legs.count - 1].assignee }
    public var jurisdictions: Set<String> { Set([originator.jurisdiction] + legs.map(\.assignee.jurisdiction)) }
}

/// One assignee's time with a hand-off.
public struct HandoffLeg: Sendable, Codable {
    public let assignee: PartyIdentity
    public let receivedAt: Int64
    public internal(set) var copied = false
    public internal(set) var acceptedAt: Int64?
    public internal(set) var rejectedAt: Int64?
    public internal(set) var transferredAt: Int64?
    public internal(set) var completedAt: Int64?
    public internal(set) var escalatedAt: Int64?
    /// What the broker serving the assignee reported (a receipt) of a cross-border case.
    public internal(set) var receipt: InboxDeliveries.Marks?
}

/// A joint operation (联合行动) and its channel `/topic/joint.ID`.
public struct JointOperationCase: Sendable, Codable {
    public let id: String
    public let opener: PartyIdentity
    public let title: String
    public let openedAt: Int64
    public let windowStart: Int64
    public let windowEnd: Int64
    public internal(set) var state: String = "open"
    public internal(set) var members: [PartyIdentity]
    public internal(set) var notices = 0
    public internal(set) var summary: String?
    public internal(set) var timeline: [TimelineEntry] = []
    /// The jurisdiction whose broker opened the operation; nil: this broker.
    public internal(set) var owner: String?

    public var jurisdictions: Set<String> { Set(members.map(\.jurisdiction)) }
    public var channel: Destination { Destination(kind: .topic, name: "joint.\(id)") }
}

/// A message the admission list refused (from the refusal audit), for the assessment.
public struct AdmissionRefusal: Sendable, Equatable, Codable {
    public let party: PartyIdentity
    public let time: Int64
}
