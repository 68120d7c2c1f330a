public import MusterBroker
public import MusterLog
import MusterProtocol

/// Delivery events as log records (kind `delivery`, Schemas/log-format.md section 7). Written
/// in the batch form: one record per subscription and batch, whose headers name the
/// subscription and whose body has a line per run of events, so that a subscriber acknowledging
/// every message adds a few bytes per message rather than a record. Logs written before hold one
/// event per record (the single form); both are read.
extension LogEntry {
    /// Lines a batch record holds at most (a larger batch takes several records).
    static let ledgerLinesPerRecord = 4096

    /// The records for `events`: a consumer's events keep their order across its records. Each
    /// consumer's events go to its latest record while they come from the same subscription and
    /// destination; a queue's events alternating between two subscribers take a record per turn
    /// (recovery reads a consumer's events in log order: an `acked` must never come before the
    /// `released` it followed).
    public static func ledgerRecords(_ events: [LedgerEvent]) -> [LogEntry] {
        var latest: [ConsumerName: Int] = [:]
        var groups: [(subscription: LedgerSubscription, runs: [LedgerRun])] = []
        for event in events {
            let key = LedgerSubscription(event)
            let index: Int
            if let found = latest[event.consumer], groups[found].subscription == key {
                index = found
            } else {
                index = groups.count
                latest[event.consumer] = index
                groups.append((key, []))
            }
            if let last = groups[index].runs.last, last.extends(with: event) {
                groups[index].runs[groups[index].runs.count - 1].last = event.offset
            } else {
                groups[index].runs.append(LedgerRun(event))
            }
        }
        return groups.flatMap { group in
            stride(from: 0, to: group.runs.count, by: ledgerLinesPerRecord).map { start in
                let slice = group.runs[start..<min(start + ledgerLinesPerRecord, group.runs.count)]
                return batchRecord(group.subscription, slice)
            }
        }
    }

    private static func batchRecord(_ subscription: LedgerSubscription, _ runs: ArraySlice<LedgerRun>) -> LogEntry {
        let base = runs.first?.at ?? 0
        var body = ""
        for run in runs {
            body += run.kind.rawValue
            body += run.first == run.last ? " \(run.first)" : " \(run.first)-\(run.last)"
            body += " \(run.deliveryCount) \(run.deliveredAt - base) \(run.at - base)"
            if let reason = run.reason { body += " " + reason.map { $0.isNewline ? " " : String($0) }.joined() }
            body += "\n"
        }
        let count = runs.reduce(0) { $0 + Int($1.last - $1.first) + 1 }
        let headers = [
            LogHeader(DeliveryRecordHeader.consumer, subscription.consumer.text),
            LogHeader(DeliveryRecordHeader.generation, String(subscription.generation)),
            LogHeader(DeliveryRecordHeader.party, subscription.party.description),
            LogHeader(DeliveryRecordHeader.subscription, subscription.subscriptionID),
            LogHeader(DeliveryRecordHeader.at, String(base)),
            LogHeader(DeliveryRecordHeader.events, String(count)),
        ]
        return LogEntry(kind: .delivery, destination: subscription.destination.description, headers: headers, body: Array(body.utf8))
    }
}

/// Whose events a batch record holds.
private struct LedgerSubscription: Hashable {
    let consumer: ConsumerName
    let generation: UInt64
    let party: PartyIdentity
    let subscriptionID: String
    let destination: Destination

    init(_ event: LedgerEvent) {
        consumer = event.consumer
        generation = event.generation
        party = event.party
        subscriptionID = event.subscriptionID
        destination = event.destination
    }
}

/// Events of consecutive offsets that agree on everything else: one line of a batch record.
private struct LedgerRun {
    let kind: LedgerEvent.Kind
    let first: UInt64
    var last: UInt64
    let deliveryCount: Int
    let deliveredAt: Int64
    let at: Int64
    let reason: String?

    init(_ event: LedgerEvent) {
        kind = event.kind
        first = event.offset
        last = event.offset
        deliveryCount = event.deliveryCount
        deliveredAt = event.deliveredAt
        at = event.at
        reason = event.reason
    }

    func extends(with event: LedgerEvent) -> Bool {
        event.offset == last &+ 1 && event.offset - first < LedgerEvent.longestRun && event.kind == kind && event.deliveryCount == deliveryCount && event.deliveredAt == deliveredAt
            && event.at == at && event.reason == reason
    }
}

extension LedgerEvent {
    /// A run longer than this in a batch record is not believed (the record is damaged).
    static let longestRun: UInt64 = 1 << 20

    /// The events a delivery record holds, in order: those of a batch record, or the one of a
    /// single-form record; none for any other record, or a malformed one.
    public static func events(in record: LogRecord) -> [LedgerEvent] {
        guard record.kind == .delivery, let destination = try? Destination(parsing: record.destination) else { return [] }
        var fields: [String: String] = [:]
        for header in record.headers where fields[header.name] == nil { fields[header.name] = header.value }
        guard fields[DeliveryRecordHeader.events] != nil else {
            return LedgerEvent(fields: fields, destination: destination).map { [$0] } ?? []
        }
        guard let consumer = fields[DeliveryRecordHeader.consumer],
              let generation = fields[DeliveryRecordHeader.generation].flatMap({ UInt64($0) }),
              let base = fields[DeliveryRecordHeader.at].flatMap({ Int64($0) }) else { return [] }
        let party = Self.party(fields[DeliveryRecordHeader.party])
        let subscriptionID = fields[DeliveryRecordHeader.subscription] ?? ""
        var events: [LedgerEvent] = []
        for line in record.body.split(separator: UInt8(ascii: "\n")) {
            let parts = String(decoding: line, as: UTF8.self).split(separator: " ", maxSplits: 5, omittingEmptySubsequences: false)
            guard parts.count >= 5, let kind = Kind(rawValue: String(parts[0])), let (first, last) = offsets(parts[1]),
                  let count = Int(parts[2]), let delivered = Int64(parts[3]), let at = Int64(parts[4]) else { return events }
            let reason = parts.count == 6 ? String(parts[5]) : nil
            for offset in first...last {
                events.append(LedgerEvent(kind: kind, consumer: ConsumerName(text: consumer), generation: generation, destination: destination,
                                          offset: offset, party: party, subscriptionID: subscriptionID, deliveryCount: count,
                                          deliveredAt: base &+ delivered, at: base &+ at, reason: reason))
            }
        }
        return events
    }

    private static func offsets(_ text: Substring) -> (UInt64, UInt64)? {
        let bounds = text.split(separator: "-", maxSplits: 1)
        guard let first = bounds.first.flatMap({ UInt64($0) }) else { return nil }
        guard bounds.count == 2 else { return (first, first) }
        guard let last = UInt64(bounds[1]), last >= first, last - first < longestRun else { return nil }
        return (first, last)
    }

    private static func party(_ text: String?) -> PartyIdentity {
        text.flatMap { PartyIdentity(uri: PartyIdentity.uriScheme + $0) } ?? PartyIdentity(jurisdiction: "", party: "")
    }

    /// A single-form record's event.
    private init?(fields: [String: String], destination: Destination) {
        guard let kind = fields[DeliveryRecordHeader.event].flatMap(Kind.init(rawValue:)),
              let consumer = fields[DeliveryRecordHeader.consumer],
              let generation = fields[DeliveryRecordHeader.generation].flatMap({ UInt64($0) }),
              let offset = fields[DeliveryRecordHeader.offset].flatMap({ UInt64($0) }),
              let count = fields[DeliveryRecordHeader.deliveryCount].flatMap({ Int($0) }),
              let deliveredAt = fields[DeliveryRecordHeader.deliveredAt].flatMap({ Int64($0) }),
              let at = fields[DeliveryRecordHeader.at].flatMap({ Int64($0) }) else { return nil }
        self.init(kind: kind, consumer: ConsumerName(text: consumer), generation: generation, destination: destination,
                  offset: offset, party: Self.party(fields[DeliveryRecordHeader.party]), subscriptionID: fields[DeliveryRecordHeader.subscription] ?? "",
                  deliveryCount: count, deliveredAt: deliveredAt, at: at, reason: fields[DeliveryRecordHeader.reason])
    }

    /// The event's headers in the single form: what a replay (`muster-include-acks`) and
    /// `muster log dump` show for each event, whichever form its record has.
    public var singleFormHeaders: [(name: String, value: String)] {
        var headers = [
            (DeliveryRecordHeader.event, kind.rawValue),
            (DeliveryRecordHeader.consumer, consumer.text),
            (DeliveryRecordHeader.generation, String(generation)),
            (DeliveryRecordHeader.offset, String(offset)),
            (DeliveryRecordHeader.party, party.description),
            (DeliveryRecordHeader.subscription, subscriptionID),
            (DeliveryRecordHeader.deliveryCount, String(deliveryCount)),
            (DeliveryRecordHeader.deliveredAt, String(deliveredAt)),
            (DeliveryRecordHeader.at, String(at)),
        ]
        if let reason { headers.append((DeliveryRecordHeader.reason, reason)) }
        return headers
    }
}
