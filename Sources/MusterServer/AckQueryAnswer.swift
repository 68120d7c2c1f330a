import Foundation
public import MusterBroker
public import MusterStomp
public import MusterProtocol

/// Encodes the answers to acknowledgement queries (the wire types live in MusterStomp).
public enum AckQueryAnswer {
    public static func pending(_ entries: [PendingDelivery], now: Int64) -> [UInt8] {
        encode(PendingAckList(pending: entries.map { PendingAck($0, now: now) }))
    }

    public static func history(destination: Destination, offset: UInt64, events: [LedgerEvent], pending: [PendingDelivery], now: Int64) -> [UInt8] {
        encode(AckHistory(destination: destination.description, offset: offset, events: events.map(AckHistory.Event.init),
                          pending: pending.filter { $0.offset == offset }.map { PendingAck($0, now: now) }))
    }

    /// The MESSAGE carrying an answer to one subscription of the asking connection.
    public static func frame(_ body: [UInt8], for query: AckQuery, subscriptionID: String, serial: UInt64) -> StompFrame {
        var headers: StompHeaders = [
            "subscription": subscriptionID,
            "message-id": "q-\(serial)",
            "destination": query.replyTo.description,
            "content-type": "application/json;charset=utf-8",
            QueryHeader.kind: query.kind.rawValue,
        ]
        if let correlation = query.correlationID { headers["correlation-id"] = correlation }
        return StompFrame(.message, headers: headers, body: body)
    }

    private static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}

extension PendingAck {
    init(_ pending: PendingDelivery, now: Int64) {
        self.init(consumer: pending.consumer.text, destination: pending.destination.description, offset: pending.offset,
                  party: pending.party?.description, subscription: pending.subscriptionID, deliveryCount: pending.deliveryCount,
                  state: pending.state.rawValue, since: pending.since, ageMilliseconds: max(0, now - pending.since))
    }
}

extension AckHistory.Event {
    init(_ event: LedgerEvent) {
        self.init(event: event.kind.rawValue, consumer: event.consumer.text, party: event.party.description,
                  subscription: event.subscriptionID, deliveryCount: event.deliveryCount, deliveredAt: event.deliveredAt,
                  at: event.at, reason: event.reason)
    }
}
