public import MusterStomp

/// A SEND the broker accepted for publication, before it is stored.
public struct Publication: Sendable {
    public var destination: Destination
    /// The client's headers, minus the frame-control ones (destination, receipt, transaction, content-length).
    public var headers: StompHeaders
    public var body: [UInt8]
    public var sender: PartyIdentity

    public init(destination: Destination, headers: StompHeaders, body: [UInt8], sender: PartyIdentity) {
        self.destination = destination
        self.headers = headers
        self.body = body
        self.sender = sender
    }
}

/// A message as stored: the publication plus its position and the broker's stamps.
public struct StoredMessage: Sendable {
    /// Position in the log (0-based, dense).
    public let offset: UInt64
    /// Milliseconds since 1970 when the broker accepted it.
    public let timestamp: Int64
    public let publication: Publication

    public init(offset: UInt64, timestamp: Int64, publication: Publication) {
        self.offset = offset
        self.timestamp = timestamp
        self.publication = publication
    }

    public var destination: Destination { publication.destination }
    public var messageID: String { "m-\(offset)" }
}

/// Headers the broker owns; clients may not send them.
public enum ReservedHeader {
    public static let sender = "muster-sender"
    public static let senderJurisdiction = "muster-sender-jurisdiction"
    public static let timestamp = "muster-timestamp"
    /// The message type (schema name); clients may set it, the broker adds it when the topic has one type.
    public static let type = "muster-type"
    public static let errorCode = "muster-error-code"
    public static let deliveryCount = "muster-delivery-count"
    public static let deadLetterFrom = "muster-dead-letter-from"
    public static let deadLetterOffset = "muster-dead-letter-offset"
    public static let deadLetterDeliveries = "muster-dead-letter-deliveries"
    public static let deadLetterReason = "muster-dead-letter-reason"

    /// Client-supplied headers that are refused on SEND.
    public static let refusedOnSend: Set<String> = Set([sender, senderJurisdiction, timestamp, deliveryCount,
                                                       deadLetterFrom, deadLetterOffset, deadLetterDeliveries, deadLetterReason])
        .union(WorkflowHeader.all)

    /// Frame-control headers of SEND that do not travel with the message.
    public static let sendControl: Set<String> = ["destination", "receipt", "transaction", "content-length"]
}
