/// A message handed to one subscription of one session.
public struct Delivery: Sendable {
    public let sessionID: UInt64
    public let subscriptionID: String
    public let message: StoredMessage
    /// Present for `client` and `client-individual` subscriptions: what the ACK must name.
    public let ackID: UInt64?
    /// 1 for the first delivery of this message to this consumer, then 2, 3, …
    public let deliveryCount: Int
    /// From a tracked consumer (queue, durable or client-acknowledged subscription), not pushed live.
    public var tracked = false
    /// The frame bytes every delivery of this message shares, encoded once for a fan-out.
    public var shared: SharedMessageHeaders?
}
