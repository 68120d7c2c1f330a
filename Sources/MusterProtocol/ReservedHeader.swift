/// Headers the broker owns; clients may not send them.
public enum ReservedHeader {
    public static let sender = "muster-sender"
    public static let senderJurisdiction = "muster-sender-jurisdiction"
    public static let timestamp = "muster-timestamp"
    /// The message type (schema name); clients may set it, the broker adds it when the topic has one type.
    public static let type = "muster-type"
    public static let errorCode = "muster-error-code"
    /// On CONNECTED: the party the client's certificate names (`JURISDICTION/PARTY`).
    public static let party = "muster-party"
    public static let deliveryCount = "muster-delivery-count"
    public static let deadLetterFrom = "muster-dead-letter-from"
    public static let deadLetterOffset = "muster-dead-letter-offset"
    public static let deadLetterDeliveries = "muster-dead-letter-deliveries"
    public static let deadLetterReason = "muster-dead-letter-reason"

    /// Every header the broker itself writes on a message, a delivery record or a replay frame:
    /// refused on a client's SEND, so that nothing a client sends can pass for the broker's word
    /// (a forged delivery record in an auditor's replay, a forged sender or workflow stamp).
    public static let refusedOnSend: Set<String> = Set([sender, senderJurisdiction, timestamp, errorCode, party, deliveryCount,
                                                       deadLetterFrom, deadLetterOffset, deadLetterDeliveries, deadLetterReason])
        .union(WorkflowHeader.all)
        .union(DeliveryRecordHeader.all)
        .union(ReplayHeader.brokerWritten)
        .union(PublishHeader.brokerWritten)
        .union(LogIdentityHeader.all)
        .union(FederationHeader.all)

    /// Frame-control headers of SEND that do not travel with the message.
    public static let sendControl: Set<String> = ["destination", "receipt", "transaction", "content-length"]
}
