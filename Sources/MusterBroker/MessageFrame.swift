import Synchronization
public import MusterStomp
import MusterProtocol

extension Delivery {
    /// The MESSAGE frame for this delivery. Broker headers come first so that, with STOMP's
    /// first-wins rule, a publisher's header can never shadow them.
    public var frame: StompFrame {
        Self.messageFrame(message, subscriptionID: subscriptionID, ackID: ackID.map { String($0) }, deliveryCount: deliveryCount)
    }

    /// The MESSAGE frame of `message` for a subscription (live or replay): the headers of this
    /// delivery, then those every delivery of the message shares.
    public static func messageFrame(_ message: StoredMessage, subscriptionID: String, ackID: String?, deliveryCount: Int) -> StompFrame {
        var headers = deliveryHeaders(subscriptionID: subscriptionID, ackID: ackID, deliveryCount: deliveryCount)
        headers.entries.append(contentsOf: SharedMessageHeaders.headers(of: message).entries)
        return StompFrame(.message, headers: headers, body: message.publication.body)
    }

    /// The wire bytes of `frame`, built around the message's shared headers (encoded once per
    /// message when `shared` was set for a fan-out, otherwise here).
    public func encodedFrame() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(160 + subscriptionID.utf8.count + (shared?.bytes.count ?? 256) + message.publication.body.count)
        encodeFrame(into: &buffer)
        return buffer
    }

    /// Appends `encodedFrame()` to `buffer` (a connection's outbound bytes). For a STOMP 1.0 or
    /// 1.1 connection the shared headers are encoded here, as that version writes them.
    public func encodeFrame(into buffer: inout [UInt8], version: StompVersion = .v1_2) {
        let headers = Self.deliveryHeaders(subscriptionID: subscriptionID, ackID: ackID.map { String($0) }, deliveryCount: deliveryCount)
        let body = message.publication.body
        // No reserveCapacity here: reserving a little more on every frame appended to one buffer
        // would reallocate it each time (Array grows geometrically only on its own).
        StompFrameEncoder.appendCommand(.message, into: &buffer)
        StompFrameEncoder.appendHeaders(headers, of: .message, version: version, into: &buffer)
        if version == .v1_2 {
            buffer.append(contentsOf: (shared ?? message.sharedHeaders).bytes)
        } else {
            SharedMessageHeaders.append(message, version: version, into: &buffer)
        }
        StompFrameEncoder.appendBody(body, into: &buffer)
    }

    private static func deliveryHeaders(subscriptionID: String, ackID: String?, deliveryCount: Int) -> StompHeaders {
        var headers = StompHeaders()
        headers.entries.reserveCapacity(4)
        headers.append("subscription", subscriptionID)
        if let ackID { headers.append("ack", ackID) }
        // `redelivered:false` on a first delivery too, as RabbitMQ sends it (its clients read it).
        headers.append("redelivered", deliveryCount > 1 ? "true" : "false")
        headers.append(ReservedHeader.deliveryCount, String(deliveryCount))
        return headers
    }

    /// Headers every MESSAGE gets from the broker that delivers it (not stored with the message).
    public static let brokerOwned: Set<String> = [
        "subscription", "message-id", "destination", "ack", "redelivered", "x-stream-offset",
        ReservedHeader.deliveryCount, ReservedHeader.sender, ReservedHeader.senderJurisdiction, ReservedHeader.timestamp,
    ]
    static let brokerOwnedNames = HeaderNameSet(brokerOwned)
}

/// The part of a message's MESSAGE frames that is the same for every subscription: the
/// broker's message headers, the publisher's, `content-length` and the blank line. A message
/// fanned out to many subscribers is encoded once, not once per subscriber.
public final class SharedMessageHeaders: Sendable {
    public let bytes: [UInt8]

    public init(_ message: StoredMessage) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(message.publication.headers.reduce(160) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 })
        Self.append(message, version: .v1_2, into: &bytes)
        self.bytes = bytes
    }

    /// The shared part of `message`'s frames as `version` writes it.
    static func append(_ message: StoredMessage, version: StompVersion, into bytes: inout [UInt8]) {
        let headers = Self.headers(of: message)
        StompFrameEncoder.appendHeaders(headers, of: .message, version: version, into: &bytes)
        // A publication carries no content-length header of its own (the decoder keeps it out).
        StompFrameEncoder.appendHeaderEnd(bodyCount: message.publication.body.count,
                                          declaresLength: headers.contains("content-length"), into: &bytes)
    }

    static func headers(of message: StoredMessage) -> StompHeaders {
        let publication = message.publication
        var headers = StompHeaders()
        headers.entries.reserveCapacity(publication.headers.count + 6)
        headers.append("message-id", message.messageID)
        headers.append("destination", publication.destination.description)
        headers.append(ReservedHeader.sender, publication.sender.party)
        headers.append(ReservedHeader.senderJurisdiction, publication.sender.jurisdiction)
        headers.append(ReservedHeader.timestamp, String(message.timestamp))
        headers.append("x-stream-offset", String(message.offset))
        for (name, value) in publication.headers where !Delivery.brokerOwnedNames.contains(name) {
            headers.append(name, value)
        }
        return headers
    }
}

extension StoredMessage {
    /// The shared part of this message's MESSAGE frames (STOMP 1.2), encoded once per message.
    public var sharedHeaders: SharedMessageHeaders { frameHeaders.headers(of: self) }
}

/// Holds a message's shared headers once a delivery has encoded them (a leaf lock: see
/// MusterServer/LockOrder.swift).
final class FrameHeadersBox: Sendable {
    private let made = Mutex<SharedMessageHeaders?>(nil)

    func headers(of message: StoredMessage) -> SharedMessageHeaders {
        made.withLock { made in
            if let made { return made }
            let encoded = SharedMessageHeaders(message)
            made = encoded
            return encoded
        }
    }
}
