public import MusterBroker
public import MusterLog

/// Delivery events as log records (kind `delivery`): the destination is the message's, the
/// body is empty, and the headers say what happened, to whom, and when:
///
///     muster-event               delivered | consumed | acked | nacked | expired | released | dead-lettered | pruned
///     muster-consumer            queue:/queue/NAME | durable:JURISDICTION/PARTY/ID | session:N/ID
///     muster-consumer-generation which incarnation of a durable consumer (decimal)
///     muster-offset              the message's offset
///     muster-party               JURISDICTION/PARTY the delivery went to
///     muster-subscription        the subscription id
///     muster-delivery-count      which delivery of the message (1 = first)
///     muster-delivered-at        when that delivery was sent (ms since 1970)
///     muster-at                  when the event happened (ms since 1970)
///     muster-reason              why (expiries, NACKs, dead letters); optional
public enum LedgerHeader {
    public static let event = "muster-event"
    public static let consumer = "muster-consumer"
    public static let generation = "muster-consumer-generation"
    public static let offset = "muster-offset"
    public static let party = "muster-party"
    public static let subscription = "muster-subscription"
    public static let deliveryCount = "muster-delivery-count"
    public static let deliveredAt = "muster-delivered-at"
    public static let at = "muster-at"
    public static let reason = "muster-reason"
}

extension LogEntry {
    public init(_ event: LedgerEvent) {
        var headers = [
            LogHeader(LedgerHeader.event, event.kind.rawValue),
            LogHeader(LedgerHeader.consumer, event.consumer.text),
            LogHeader(LedgerHeader.generation, String(event.generation)),
            LogHeader(LedgerHeader.offset, String(event.offset)),
            LogHeader(LedgerHeader.party, event.party.description),
            LogHeader(LedgerHeader.subscription, event.subscriptionID),
            LogHeader(LedgerHeader.deliveryCount, String(event.deliveryCount)),
            LogHeader(LedgerHeader.deliveredAt, String(event.deliveredAt)),
            LogHeader(LedgerHeader.at, String(event.at)),
        ]
        if let reason = event.reason { headers.append(LogHeader(LedgerHeader.reason, reason)) }
        self.init(kind: .delivery, destination: event.destination.description, headers: headers, body: [])
    }
}

extension LedgerEvent {
    /// A delivery record read back; nil for any other record (or a malformed one).
    public init?(record: LogRecord) {
        guard record.kind == .delivery, let destination = try? Destination(parsing: record.destination) else { return nil }
        var fields: [String: String] = [:]
        for header in record.headers where fields[header.name] == nil { fields[header.name] = header.value }
        guard let kind = fields[LedgerHeader.event].flatMap(Kind.init(rawValue:)),
              let consumer = fields[LedgerHeader.consumer],
              let generation = fields[LedgerHeader.generation].flatMap({ UInt64($0) }),
              let offset = fields[LedgerHeader.offset].flatMap({ UInt64($0) }),
              let count = fields[LedgerHeader.deliveryCount].flatMap({ Int($0) }),
              let deliveredAt = fields[LedgerHeader.deliveredAt].flatMap({ Int64($0) }),
              let at = fields[LedgerHeader.at].flatMap({ Int64($0) }) else { return nil }
        let party = fields[LedgerHeader.party].flatMap { PartyIdentity(uri: PartyIdentity.uriScheme + $0) }
            ?? PartyIdentity(jurisdiction: "", party: "")
        self.init(kind: kind, consumer: ConsumerName(text: consumer), generation: generation, destination: destination,
                  offset: offset, party: party, subscriptionID: fields[LedgerHeader.subscription] ?? "",
                  deliveryCount: count, deliveredAt: deliveredAt, at: at, reason: fields[LedgerHeader.reason])
    }
}
