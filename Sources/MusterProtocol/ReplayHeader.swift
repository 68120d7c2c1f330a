/// Headers of replay subscriptions (Schemas/protocol.md, "Replay"). Where RabbitMQ's STOMP
/// plugin has a convention (`x-stream-offset`), Muster uses it; these are Muster's own.
public enum ReplayHeader {
    /// On SUBSCRIBE: where the replay ends (`head`, `offset=N`, `timestamp=UNIX-SECONDS`).
    public static let until = "muster-until"
    /// On SUBSCRIBE: `true` to replay the delivery records of the destination too.
    public static let includeAcks = "muster-include-acks"
    /// On the end marker: the offset after the last record replayed.
    public static let endOffset = "muster-end-offset"
    /// On the end marker: how many records the replay delivered.
    public static let replayed = "muster-replayed"
    /// On a replayed delivery record: `delivery`.
    public static let record = "muster-record"
    /// The headers above that the broker writes (the others are a client's, on SUBSCRIBE).
    public static let brokerWritten: Set<String> = [endOffset, replayed, record]
    /// The message-id prefix of the marker that ends a replay.
    public static let endMarkerPrefix = "muster-end:"
}
