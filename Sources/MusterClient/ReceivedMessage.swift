public import MusterStomp
import MusterProtocol

/// A MESSAGE the broker delivered to a subscription.
public struct ReceivedMessage: Sendable {
    public let headers: StompHeaders
    public let body: [UInt8]

    public init(frame: StompFrame) {
        headers = frame.headers
        body = frame.body
    }

    public var destination: String { headers["destination"] ?? "" }
    public var subscriptionID: String { headers["subscription"] ?? "" }
    public var messageID: String { headers["message-id"] ?? "" }
    /// What an ACK or NACK must name (absent for `auto` subscriptions).
    public var ackID: String? { headers["ack"] }
    /// The publishing party, stamped by the broker from its certificate.
    public var sender: String? { headers[ReservedHeader.sender] }
    public var senderJurisdiction: String? { headers[ReservedHeader.senderJurisdiction] }
    public var redelivered: Bool { headers["redelivered"] == "true" }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
