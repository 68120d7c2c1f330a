/// Idempotent publishing (Schemas/protocol.md, "Publishing once"): a SEND may carry an id its
/// publisher chose, and a repeat of that id by the same party is not stored again.
public enum PublishHeader {
    /// On SEND, the client's: the publisher's id for this message. Stored with the message.
    /// NATS JetStream calls it `Nats-Msg-Id`, ActiveMQ Artemis `_AMQ_DUPL_ID`; RabbitMQ streams
    /// pair a producer name with a `publishing-id`.
    public static let id = "muster-publish-id"
    /// On a SEND's RECEIPT: the offset of the stored message (for a repeat, of the original).
    public static let offset = "muster-offset"
    /// On a SEND's RECEIPT: `true` when the SEND repeated an id already stored, so nothing new was stored.
    public static let duplicate = "muster-duplicate"

    /// The header above that only the broker writes (`muster-offset` is also a query's header,
    /// QueryHeader.offset, so a SEND to the query destination carries it).
    public static let brokerWritten: Set<String> = [duplicate]
}
