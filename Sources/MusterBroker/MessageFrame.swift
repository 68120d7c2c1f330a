public import MusterStomp

extension Delivery {
    /// The MESSAGE frame for this delivery. Broker headers come first so that, with STOMP's
    /// first-wins rule, a publisher's header can never shadow them.
    public var frame: StompFrame {
        Self.messageFrame(message, subscriptionID: subscriptionID, ackID: ackID.map { String($0) }, deliveryCount: deliveryCount)
    }

    /// The MESSAGE frame of `message` for a subscription (live or replay).
    public static func messageFrame(_ message: StoredMessage, subscriptionID: String, ackID: String?, deliveryCount: Int) -> StompFrame {
        let publication = message.publication
        var headers = StompHeaders()
        headers.entries.reserveCapacity(publication.headers.count + 10)
        headers.append("subscription", subscriptionID)
        headers.append("message-id", message.messageID)
        headers.append("destination", publication.destination.description)
        if let ackID { headers.append("ack", ackID) }
        if deliveryCount > 1 { headers.append("redelivered", "true") }
        headers.append(ReservedHeader.deliveryCount, String(deliveryCount))
        headers.append(ReservedHeader.sender, publication.sender.party)
        headers.append(ReservedHeader.senderJurisdiction, publication.sender.jurisdiction)
        headers.append(ReservedHeader.timestamp, String(message.timestamp))
        headers.append("x-stream-offset", String(message.offset))
        for (name, value) in publication.headers where !Delivery.brokerOwned.contains(name) {
            headers.append(name, value)
        }
        return StompFrame(.message, headers: headers, body: publication.body)
    }

    static let brokerOwned: Set<String> = [
        "subscription", "message-id", "destination", "ack", "redelivered", "x-stream-offset",
        ReservedHeader.deliveryCount, ReservedHeader.sender, ReservedHeader.senderJurisdiction, ReservedHeader.timestamp,
    ]
}
