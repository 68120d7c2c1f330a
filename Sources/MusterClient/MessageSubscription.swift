/// The messages of one subscription, in delivery order, as an `AsyncSequence`.
/// The sequence ends when the subscription is cancelled and throws when the connection fails.
public struct MessageSubscription: AsyncSequence, Sendable {
    public typealias Element = ReceivedMessage

    public let id: String
    public let destination: String
    let stream: AsyncThrowingStream<ReceivedMessage, any Error>
    let connection: MusterConnection

    public func makeAsyncIterator() -> AsyncThrowingStream<ReceivedMessage, any Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }

    /// Sends UNSUBSCRIBE and waits for the broker to confirm.
    public func unsubscribe() async throws {
        try await connection.unsubscribe(id: id)
    }
}
