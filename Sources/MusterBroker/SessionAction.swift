public import MusterStomp
public import MusterProtocol

/// What a `SessionMachine` asks its connection to do.
public enum SessionAction: Sendable {
    /// Send a reply frame (CONNECTED, RECEIPT, ERROR).
    case send(StompFrame)
    /// The session is connected with this heart-beat agreement.
    case connected(HeartbeatAgreement)
    case publish(Publication, receipt: String?)
    /// `replay` is set when the client asked to read the log from a point (`x-stream-offset`);
    /// with `durable`, it only says where a new durable subscription starts.
    case subscribe(id: String, destination: Destination, mode: AckMode, prefetch: Int?, replay: ReplayRequest?, durable: Bool, receipt: String?)
    /// With `durable`, a durable subscription is deleted, not just left.
    case unsubscribe(id: String, durable: Bool, receipt: String?)
    /// Answer a question about acknowledgements.
    case query(AckQuery, receipt: String?)
    case acknowledge(ackID: String, receipt: String?)
    case reject(ackID: String, requeue: Bool, receipt: String?)
    /// An ACK of STOMP 1.0 or 1.1, which names the message, not the delivery: the connection
    /// settles this connection's unsettled delivery of it.
    case acknowledgeMessage(MessageReference, receipt: String?)
    /// A NACK of STOMP 1.1, by message.
    case rejectMessage(MessageReference, requeue: Bool, receipt: String?)
    /// Run these (publishes, acks) in order, then send the receipt if any.
    case commit(transaction: String, actions: [SessionAction], receipt: String?)
    /// A refusal that is policy evidence (a spoofed sender header, a SEND to a reserved
    /// destination): record it. The ERROR and close follow as usual.
    case refused(PolicyRefusal)
    /// Close the connection once what was sent so far has been flushed.
    case close
}

/// The message an ACK or NACK of STOMP 1.0 or 1.1 names: its `message-id` (`m-OFFSET`, or
/// `d-OFFSET` for a delivery record of a replay) and, when given, the subscription it came on.
public struct MessageReference: Sendable, Equatable {
    public let messageID: String
    /// The message's offset in the log, read from `messageID`.
    public let offset: UInt64
    public let subscriptionID: String?

    /// Nil when `messageID` is not one this broker gives (`m-OFFSET` or `d-OFFSET`).
    public init?(messageID: String, subscriptionID: String?) {
        guard messageID.hasPrefix("m-") || messageID.hasPrefix("d-"), let offset = UInt64(messageID.dropFirst(2)) else { return nil }
        self.messageID = messageID
        self.offset = offset
        self.subscriptionID = subscriptionID
    }
}

/// Limits a session enforces beyond the frame codec's.
public struct SessionSettings: Sendable {
    public var maxSubscriptions: Int
    public var maxTransactionFrames: Int
    /// Bytes (headers and bodies) one transaction may hold until its COMMIT.
    public var maxTransactionBytes: Int
    /// Bytes all of a connection's open transactions may hold together.
    public var maxTransactionBytesPerConnection: Int
    public var maxOpenTransactions: Int
    /// The broker's own heart-beat offer: send every / want every (ms).
    public var heartbeatSend: Int
    public var heartbeatWant: Int
    public var serverName: String

    public init(maxSubscriptions: Int = 256, maxTransactionFrames: Int = 10_000, maxTransactionBytes: Int = 16 << 20,
                maxTransactionBytesPerConnection: Int = 32 << 20, maxOpenTransactions: Int = 16,
                heartbeatSend: Int = 10_000, heartbeatWant: Int = 10_000, serverName: String = "Muster/0.1") {
        self.maxSubscriptions = maxSubscriptions
        self.maxTransactionFrames = maxTransactionFrames
        self.maxTransactionBytes = maxTransactionBytes
        self.maxTransactionBytesPerConnection = maxTransactionBytesPerConnection
        self.maxOpenTransactions = maxOpenTransactions
        self.heartbeatSend = heartbeatSend
        self.heartbeatWant = heartbeatWant
        self.serverName = serverName
    }
}

extension StompFrame {
    /// A RECEIPT frame for `receiptID`.
    public static func receipt(_ receiptID: String) -> StompFrame {
        StompFrame(.receipt, headers: ["receipt-id": receiptID])
    }

    /// An ERROR frame for a refusal: short `message`, stable `muster-error-code`, and a body
    /// that says what was wrong and what to do.
    public static func error(_ error: BrokerError, receiptID: String? = nil) -> StompFrame {
        var headers: StompHeaders = [
            "message": error.message,
            ReservedHeader.errorCode: error.code.rawValue,
            "content-type": "text/plain;charset=utf-8",
        ]
        if let receiptID { headers["receipt-id"] = receiptID }
        // The specification's example: an ERROR refusing the version names the versions spoken.
        if error.code == .unsupportedVersion { headers["version"] = SessionMachine.spokenVersions }
        return StompFrame(.error, headers: headers, text: "\(error.message).\n\(error.code.advice)\n")
    }
}
