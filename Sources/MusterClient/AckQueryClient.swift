import Foundation
public import MusterStomp
public import MusterProtocol

/// Asks the broker about acknowledgements over STOMP (Schemas/protocol.md, "Acknowledgement
/// queries"): a SEND to `/queue/muster.query`, answered on a private reply destination.
public struct AckQueryClient: Sendable {
    public let connection: MusterConnection

    public init(_ connection: MusterConnection) {
        self.connection = connection
    }

    /// Unacknowledged deliveries, optionally of one destination or to one party (`JURISDICTION/PARTY`).
    public func pending(destination: String? = nil, party: String? = nil) async throws -> [PendingAck] {
        var headers: StompHeaders = [QueryHeader.kind: "acks-pending"]
        if let destination { headers[QueryHeader.destination] = destination }
        if let party { headers[QueryHeader.party] = party }
        return try await ask(headers, as: PendingAckList.self).pending
    }

    /// Every delivery of the message at `offset` of `destination` and what became of it.
    public func history(offset: UInt64, destination: String) async throws -> AckHistory {
        try await ask([QueryHeader.kind: "acks-history", QueryHeader.destination: destination, QueryHeader.offset: String(offset)],
                      as: AckHistory.self)
    }

    private func ask<Answer: Decodable>(_ query: StompHeaders, as type: Answer.Type) async throws -> Answer {
        try JSONDecoder().decode(Answer.self, from: Data(try await ask(query)))
    }

    /// Sends any query (muster-query and its parameters) and returns the answer's JSON body;
    /// a refusal is thrown as `MusterClientError.refused`.
    public func ask(_ query: StompHeaders) async throws -> [UInt8] {
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
        return answer.body
    }
}
