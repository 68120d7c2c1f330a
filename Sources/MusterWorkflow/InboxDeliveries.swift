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
    /// The copies of cross-border cases, by offset: their marks are reported to the linked broker.
    private var crossBorderCopies: [UInt64: CopyKey] = [:]
    /// Copies of cross-border cases whose marks moved since `takeChanged` (all of them after a restart).
    private var changed: Set<UInt64> = []

    public struct CopyKey: Sendable, Hashable, Codable {
        public let id: String
        public let party: PartyIdentity
    }

    enum CodingKeys: String, CodingKey { case copies, marks, crossBorderCopies }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        copies = try container.decode([String: [PartyIdentity: UInt64]].self, forKey: .copies)
        marks = try container.decode([UInt64: Marks].self, forKey: .marks)
        crossBorderCopies = try container.decodeIfPresent([UInt64: CopyKey].self, forKey: .crossBorderCopies) ?? [:]
        changed = Set(crossBorderCopies.keys)
    }

    /// Notes an inbox copy once it is stored (live) or read back (rebuild).
    public mutating func noteStored(_ message: StoredMessage) {
        let headers = message.publication.headers
        guard headers[WorkflowHeader.event] == WorkflowEventKind.inboxCopy.rawValue,
              headers[ReservedHeader.type] != WorkflowType.escalation.rawValue,
              let id = headers[WorkflowHeader.id], let party = headers[WorkflowHeader.party].flatMap(PartyIdentity.init(path:)) else { return }
        copies[id, default: [:]][party] = message.offset
        if WorkflowBook.isCrossBorder(id) { crossBorderCopies[message.offset] = CopyKey(id: id, party: party) }
    }

    /// Notes delivery events on inbox queues. Returns whether a copy of a cross-border case got new marks.
    @discardableResult
    public mutating func note(_ events: [LedgerEvent]) -> Bool {
        var crossBorder = false
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
            if marks[event.offset] != mark, crossBorderCopies[event.offset] != nil {
                changed.insert(event.offset)
                crossBorder = true
            }
            marks[event.offset] = mark
        }
        return crossBorder
    }

    /// The copies of cross-border cases whose marks moved, with their marks (of a party's newest
    /// copy of a case only: a hand-off back with it has a new one); forgets them.
    public mutating func takeChanged() -> [(CopyKey, Marks)] {
        defer { changed.removeAll() }
        return changed.sorted().compactMap { offset in
            guard let key = crossBorderCopies[offset], copies[key.id]?[key.party] == offset else { return nil }
            return (key, marks[offset] ?? Marks())
        }
    }

    public func marks(of id: String, party: PartyIdentity) -> Marks {
        copies[id]?[party].flatMap { marks[$0] } ?? Marks()
    }

    /// The marks seen here, or else those the broker serving the party reported (a receipt).
    public func marks(of id: String, party: PartyIdentity, reported: Marks?) -> Marks {
        let seen = marks(of: id, party: party)
        return seen == Marks() ? reported ?? seen : seen
    }
}
