public import Foundation
public import MusterStomp

/// Asks the broker about acknowledgements over STOMP (Schemas/protocol.md, "Acknowledgement
/// queries"): a SEND to `/queue/muster.query`, answered on a private reply destination.
public struct AckQueryClient: Sendable {
    public let connection: MusterConnection

    public init(_ connection: MusterConnection) {
        self.connection = connection
    }

    /// Unacknowledged deliveries, optionally of one destination or to one party (`JURISDICTION/PARTY`).
    public func pending(destination: String? = nil, party: String? = nil) async throws -> [PendingAck] {
        var headers: StompHeaders = ["muster-query": "acks-pending"]
        if let destination { headers["muster-destination"] = destination }
        if let party { headers["muster-party"] = party }
        return try await ask(headers, as: PendingAnswer.self).pending
    }

    /// Every delivery of the message at `offset` of `destination` and what became of it.
    public func history(offset: UInt64, destination: String) async throws -> AckHistory {
        try await ask(["muster-query": "acks-history", "muster-destination": destination, "muster-offset": String(offset)],
                      as: AckHistory.self)
    }

    private func ask<Answer: Decodable>(_ query: StompHeaders, as type: Answer.Type) async throws -> Answer {
        let token = UUID().uuidString.lowercased()
        let replyTo = "/topic/muster.reply.\(token)"
        let replies = try await connection.subscribe(to: replyTo)
        var headers = query
        headers["destination"] = "/queue/muster.query"
        headers["reply-to"] = replyTo
        headers["correlation-id"] = token
        try await connection.send(StompFrame(.send, headers: headers), awaitingReceipt: true)
        var answer: ReceivedMessage?
        for try await message in replies where message.headers["correlation-id"] == token {
            answer = message
            break
        }
        try await replies.unsubscribe()
        guard let answer else { throw MusterClientError.closed("the connection ended before the answer arrived") }
        return try JSONDecoder().decode(Answer.self, from: Data(answer.body))
    }

    struct PendingAnswer: Decodable { let pending: [PendingAck] }
}

/// An unacknowledged delivery (`delivered`) or a message waiting to be delivered again (`waiting`).
public struct PendingAck: Decodable, Sendable, Equatable {
    public let consumer: String
    public let destination: String
    public let offset: UInt64
    public let party: String?
    public let subscription: String?
    public let deliveryCount: Int
    public let state: String
    /// When it was delivered (or began waiting), ms since 1970.
    public let since: Int64
    public let ageMilliseconds: Int64

    enum CodingKeys: String, CodingKey {
        case consumer, destination, offset, party, subscription, state, since
        case deliveryCount = "delivery-count"
        case ageMilliseconds = "age-ms"
    }
}

/// What happened to the deliveries of one message.
public struct AckHistory: Decodable, Sendable {
    public struct Event: Decodable, Sendable, Equatable {
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
    }

    public let destination: String
    public let offset: UInt64
    public let events: [Event]
    public let pending: [PendingAck]
}
