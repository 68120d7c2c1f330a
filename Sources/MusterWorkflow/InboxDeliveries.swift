public import MusterProtocol
public import MusterBroker
/// When each inbox copy of a summons or dispatch was first delivered to its party's adapter
/// and first acknowledged, from the delivery events in the log.
public struct InboxDeliveries: Sendable, Codable {
    public struct Marks: Sendable, Equatable, Codable {
        public var deliveredAt: Int64?
        public var ackedAt: Int64?
    }

    /// Case id → party → offset of its newest inbox copy.
    private var copies: [String: [PartyIdentity: UInt64]] = [:]
    private var marks: [UInt64: Marks] = [:]

    public init() {}

    /// Notes an inbox copy once it is stored (live) or read back (rebuild).
    public mutating func noteStored(_ message: StoredMessage) {
        let headers = message.publication.headers
        guard headers[WorkflowHeader.event] == WorkflowEventKind.inboxCopy.rawValue,
              headers[ReservedHeader.type] != WorkflowType.escalation.rawValue,
              let id = headers[WorkflowHeader.id], let party = headers[WorkflowHeader.party].flatMap(PartyIdentity.init(path:)) else { return }
        copies[id, default: [:]][party] = message.offset
    }

    /// Notes delivery events on inbox queues.
    public mutating func note(_ events: [LedgerEvent]) {
        for event in events where event.destination.kind == .queue && event.destination.name.hasPrefix("inbox.") {
            var mark = marks[event.offset] ?? Marks()
            switch event.kind {
            case .delivered:
                mark.deliveredAt = mark.deliveredAt ?? event.deliveredAt
            case .consumed, .acked:
                mark.deliveredAt = mark.deliveredAt ?? event.deliveredAt
                mark.ackedAt = mark.ackedAt ?? event.at
            default:
                continue
            }
            marks[event.offset] = mark
        }
    }

    public func marks(of id: String, party: PartyIdentity) -> Marks {
        copies[id]?[party].flatMap { marks[$0] } ?? Marks()
    }
}
