public import MusterStomp

/// A question about acknowledgements, asked over STOMP: a SEND to `/queue/muster.query`
/// with `muster-query` and `reply-to` (a `/topic/muster.reply.*` destination the asking
/// connection subscribed to). The answer comes back to that connection only, as a MESSAGE
/// with a JSON body. Documented in Schemas/protocol.md.
public struct AckQuery: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Unacknowledged deliveries (optionally of one destination, or to one party).
        case pending = "acks-pending"
        /// Every delivery of one message and what became of it.
        case history = "acks-history"
        /// Summonses the asking party may see (muster-open: true for the open ones only).
        case summonsList = "summons-list"
        /// One summons: per-party table and timeline (muster-case).
        case summonsShow = "summons-show"
        case handoffList = "handoff-list"
        case handoffShow = "handoff-show"
        case operationList = "operation-list"
        /// The assessment of each party over muster-from … muster-to (ms since 1970), optionally of one muster-jurisdiction.
        case assessment = "assessment"
        /// The log's head signed now by the broker (auditors only); also recorded in the log and sent to the peers.
        case checkpoint = "log-checkpoint"
    }

    public static let destination = Destination(kind: .queue, name: "muster.query")
    public static let replyPrefix = "/topic/muster.reply."

    public let kind: Kind
    public let replyTo: Destination
    public let correlationID: String?
    public let destination: Destination?
    public let party: PartyIdentity?
    public let offset: UInt64?
    /// The summons, hand-off or operation id (muster-case).
    public var caseID: String?
    public var from: Int64?
    public var to: Int64?
    public var jurisdiction: String?
    public var openOnly = false

    public init(kind: Kind, replyTo: Destination, correlationID: String? = nil, destination: Destination? = nil,
                party: PartyIdentity? = nil, offset: UInt64? = nil) {
        self.kind = kind
        self.replyTo = replyTo
        self.correlationID = correlationID
        self.destination = destination
        self.party = party
        self.offset = offset
    }

    public static func parse(_ headers: StompHeaders) throws(BrokerError) -> AckQuery {
        let kindText = headers[QueryHeader.kind] ?? ""
        guard let kind = Kind(rawValue: kindText) else {
            let known = Kind.allCases.map(\.rawValue).joined(separator: " or ")
            throw BrokerError(.invalidQuery, "muster-query '\(kindText)' must be \(known)")
        }
        guard let replyText = headers["reply-to"], replyText.hasPrefix(replyPrefix) else {
            throw BrokerError(.invalidQuery, "a query needs reply-to naming a \(replyPrefix)NAME destination this connection subscribed to")
        }
        let replyTo = try Destination(parsing: replyText)
        let destination = try headers[QueryHeader.destination].map { text throws(BrokerError) in try Destination(parsing: text) }
        var party: PartyIdentity?
        if let text = headers[QueryHeader.party] {
            party = PartyIdentity(uri: text.hasPrefix(PartyIdentity.uriScheme) ? text : PartyIdentity.uriScheme + text)
            guard party != nil else { throw BrokerError(.invalidQuery, "muster-party '\(text)' must be JURISDICTION/PARTY") }
        }
        var offset: UInt64?
        if let text = headers[QueryHeader.offset] {
            offset = UInt64(text)
            guard offset != nil else { throw BrokerError(.invalidQuery, "muster-offset '\(text)' must be a non-negative integer") }
        }
        if kind == .history, destination == nil || offset == nil {
            throw BrokerError(.invalidQuery, "acks-history needs muster-destination and muster-offset")
        }
        var query = AckQuery(kind: kind, replyTo: replyTo, correlationID: headers["correlation-id"], destination: destination, party: party, offset: offset)
        query.caseID = headers[QueryHeader.caseID]
        query.jurisdiction = headers[QueryHeader.jurisdiction]
        query.openOnly = headers[QueryHeader.openOnly].flatMap(BooleanHeader.parse) == true
        for (name, keyPath) in [(QueryHeader.from, \AckQuery.from), (QueryHeader.to, \AckQuery.to)] {
            guard let text = headers[name] else { continue }
            guard let value = Int64(text) else { throw BrokerError(.invalidQuery, "\(name) '\(text)' must be milliseconds since 1970") }
            query[keyPath: keyPath] = value
        }
        if kind == .summonsShow || kind == .handoffShow, query.caseID == nil {
            throw BrokerError(.invalidQuery, "\(kind.rawValue) needs \(QueryHeader.caseID) naming the id")
        }
        if kind == .assessment, query.from == nil || query.to == nil {
            throw BrokerError(.invalidQuery, "assessment needs \(QueryHeader.from) and \(QueryHeader.to)")
        }
        return query
    }
}
