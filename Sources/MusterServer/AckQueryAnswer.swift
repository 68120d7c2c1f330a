import Foundation
public import MusterBroker
public import MusterStomp

/// The JSON answers to acknowledgement queries (Schemas/protocol.md, "Acknowledgement queries").
public enum AckQueryAnswer {
    public struct Pending: Codable, Sendable, Equatable {
        public let consumer: String
        public let destination: String
        public let offset: UInt64
        public let party: String?
        public let subscription: String?
        public let deliveryCount: Int
        public let state: String
        public let since: Int64
        public let ageMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case consumer, destination, offset, party, subscription, state, since
            case deliveryCount = "delivery-count"
            case ageMilliseconds = "age-ms"
        }

        init(_ pending: PendingDelivery, now: Int64) {
            consumer = pending.consumer.text
            destination = pending.destination.description
            offset = pending.offset
            party = pending.party?.description
            subscription = pending.subscriptionID
            deliveryCount = pending.deliveryCount
            state = pending.state.rawValue
            since = pending.since
            ageMilliseconds = max(0, now - pending.since)
        }
    }

    public struct Event: Codable, Sendable, Equatable {
        public let event: String
        public let consumer: String
        public let party: String
        public let subscription: String
        public let deliveryCount: Int
        public let deliveredAt: Int64
        public let at: Int64
        public let reason: String?

        enum CodingKeys: String, CodingKey {
            case event, consumer, party, subscription, at, reason
            case deliveryCount = "delivery-count"
            case deliveredAt = "delivered-at"
        }

        init(_ event: LedgerEvent) {
            self.event = event.kind.rawValue
            consumer = event.consumer.text
            party = event.party.description
            subscription = event.subscriptionID
            deliveryCount = event.deliveryCount
            deliveredAt = event.deliveredAt
            at = event.at
            reason = event.reason
        }
    }

    public struct PendingAnswer: Codable, Sendable {
        public let pending: [Pending]
    }

    public struct HistoryAnswer: Codable, Sendable {
        public let destination: String
        public let offset: UInt64
        public let events: [Event]
        public let pending: [Pending]
    }

    public static func pending(_ entries: [PendingDelivery], now: Int64) -> [UInt8] {
        encode(PendingAnswer(pending: entries.map { Pending($0, now: now) }))
    }

    public static func history(destination: Destination, offset: UInt64, events: [LedgerEvent], pending: [PendingDelivery], now: Int64) -> [UInt8] {
        encode(HistoryAnswer(destination: destination.description, offset: offset, events: events.map(Event.init),
                             pending: pending.filter { $0.offset == offset }.map { Pending($0, now: now) }))
    }

    /// The MESSAGE carrying an answer to one subscription of the asking connection.
    public static func frame(_ body: [UInt8], for query: AckQuery, subscriptionID: String, serial: UInt64) -> StompFrame {
        var headers: StompHeaders = [
            "subscription": subscriptionID,
            "message-id": "q-\(serial)",
            "destination": query.replyTo.description,
            "content-type": "application/json;charset=utf-8",
            AckQuery.kindHeader: query.kind.rawValue,
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
