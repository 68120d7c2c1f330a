public import MusterBroker
public import MusterLog
import MusterProtocol

extension LogEntry {
    public init(_ event: LedgerEvent) {
        var headers = [
            LogHeader(DeliveryRecordHeader.event, event.kind.rawValue),
            LogHeader(DeliveryRecordHeader.consumer, event.consumer.text),
            LogHeader(DeliveryRecordHeader.generation, String(event.generation)),
            LogHeader(DeliveryRecordHeader.offset, String(event.offset)),
            LogHeader(DeliveryRecordHeader.party, event.party.description),
            LogHeader(DeliveryRecordHeader.subscription, event.subscriptionID),
            LogHeader(DeliveryRecordHeader.deliveryCount, String(event.deliveryCount)),
            LogHeader(DeliveryRecordHeader.deliveredAt, String(event.deliveredAt)),
            LogHeader(DeliveryRecordHeader.at, String(event.at)),
        ]
        if let reason = event.reason { headers.append(LogHeader(DeliveryRecordHeader.reason, reason)) }
        self.init(kind: .delivery, destination: event.destination.description, headers: headers, body: [])
    }
}

extension LedgerEvent {
    /// A delivery record read back; nil for any other record (or a malformed one).
    public init?(record: LogRecord) {
        guard record.kind == .delivery, let destination = try? Destination(parsing: record.destination) else { return nil }
        var fields: [String: String] = [:]
        for header in record.headers where fields[header.name] == nil { fields[header.name] = header.value }
        guard let kind = fields[DeliveryRecordHeader.event].flatMap(Kind.init(rawValue:)),
              let consumer = fields[DeliveryRecordHeader.consumer],
              let generation = fields[DeliveryRecordHeader.generation].flatMap({ UInt64($0) }),
              let offset = fields[DeliveryRecordHeader.offset].flatMap({ UInt64($0) }),
              let count = fields[DeliveryRecordHeader.deliveryCount].flatMap({ Int($0) }),
              let deliveredAt = fields[DeliveryRecordHeader.deliveredAt].flatMap({ Int64($0) }),
              let at = fields[DeliveryRecordHeader.at].flatMap({ Int64($0) }) else { return nil }
        let party = fields[DeliveryRecordHeader.party].flatMap { PartyIdentity(uri: PartyIdentity.uriScheme + $0) }
            ?? PartyIdentity(jurisdiction: "", party: "")
        self.init(kind: kind, consumer: ConsumerName(text: consumer), generation: generation, destination: destination,
                  offset: offset, party: party, subscriptionID: fields[DeliveryRecordHeader.subscription] ?? "",
                  deliveryCount: count, deliveredAt: deliveredAt, at: at, reason: fields[DeliveryRecordHeader.reason])
    }
}
