/// How a subscription acknowledges (STOMP 1.2 `ack` header).
public enum AckMode: String, Sendable, CaseIterable {
    case auto
    /// An ACK settles the named delivery and every earlier one of the subscription.
    case client
    /// An ACK settles only the named delivery.
    case clientIndividual = "client-individual"
}
