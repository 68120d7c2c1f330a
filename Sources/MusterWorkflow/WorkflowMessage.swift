public import MusterStomp
public import MusterProtocol
public import MusterSchema
public import MusterBroker

/// A message of a workflow type as the workflow book sees it: who sent it, when the workflow
/// took it, what it asks for, and the broker's stamps. Built from a publication the desk has
/// stamped, or from a message read back from the log: the same input either way, which is
/// what makes the workflow state a function of the log.
public struct WorkflowMessage: Sendable {
    public let type: WorkflowType
    /// The body's `action`; for report-in, evaluation and escalation, the type's name.
    public let action: String
    public let body: JSONObject
    public let sender: PartyIdentity
    public let destination: Destination
    /// `muster-workflow-time`; for a record from a linked broker, no earlier than what that
    /// broker had already told this one (`WorkflowBook.bounded`).
    public internal(set) var time: Int64
    /// The jurisdiction whose broker stamped the message, when a federation link brought it (`muster-via`); nil: this broker.
    public let origin: String?
    /// For a message a link brought: whose time bounds it (the origin, per lane of the link: the
    /// lanes are not ordered with each other) and when it arrived here.
    let boundKey: String?
    let receivedAt: Int64?
    /// `muster-workflow-id`.
    public let caseID: String?
    /// Set on what the broker wrote itself.
    public let event: WorkflowEventKind?
    public let headers: StompHeaders
    public let publication: Publication

    /// Nil when the publication is not a stamped workflow message (no type, no time, a body that is not an object).
    public init?(_ publication: Publication) {
        let headers = publication.headers
        guard let typeText = headers[ReservedHeader.type], let type = WorkflowType(rawValue: typeText),
              let time = headers[WorkflowHeader.time].flatMap({ Int64($0) }),
              case .object(let body)? = try? JSONParser.parse(publication.body) else { return nil }
        let event = headers[WorkflowHeader.event].flatMap(WorkflowEventKind.init(rawValue:))
        switch type {
        case .summons, .handoff, .jointOperation:
            guard event == nil || event == .inboxCopy || event == .reminder || event == .receipt else { return nil }
            guard case .string(let action)? = body["action"] else { return nil }
            self.action = event == nil ? action : event!.rawValue
        case .reportIn, .evaluation, .escalation:
            self.action = event?.rawValue ?? type.rawValue
        }
        self.type = type
        self.body = body
        self.sender = publication.sender
        self.destination = publication.destination
        self.time = time
        self.caseID = headers[WorkflowHeader.id]
        self.event = event
        self.origin = FederationHeader.jurisdictions(headers[FederationHeader.via]).first
        self.boundKey = origin.map { headers[FederationHeader.lane] == LinkLane.urgent.rawValue ? "\($0) (urgent lane)" : $0 }
        self.receivedAt = headers[WorkflowHeader.receivedAt].flatMap { Int64($0) }
        self.headers = headers
        self.publication = publication
    }

    public func string(_ key: String) -> String? {
        if case .string(let text)? = body[key] { return text }
        return nil
    }

    public func integer(_ key: String) -> Int? {
        if case .number(let number)? = body[key], number.rounded() == number { return Int(number) }
        return nil
    }

    /// A header naming one party, `JURISDICTION/PARTY`.
    public func party(header name: String) -> PartyIdentity? {
        headers[name].flatMap(PartyIdentity.init(path:))
    }

    /// A header naming parties, comma-separated.
    public func parties(header name: String) -> [PartyIdentity] {
        (headers[name] ?? "").split(separator: ",").compactMap { PartyIdentity(path: String($0)) }
    }
}

extension PartyIdentity {
    /// Parses `JURISDICTION/PARTY` (as `description` prints it).
    public init?(path: String) {
        self.init(uri: Self.uriScheme + path)
    }
}
