public import MusterStomp
public import MusterProtocol

/// One replay subscription as a pure state machine: which records it delivers, when it is
/// done, and what its client still has to acknowledge. The connection feeds it records read
/// from the log and performs what it decides.
public struct ReplayState: Sendable {
    /// What to do with a record read from the log.
    public enum Step: Equatable, Sendable {
        /// Another destination's record: read on.
        case skip
        /// Send it; `ackID` is what the client's ACK must name (nil for `ack:auto`).
        case deliver(ackID: String?)
        /// The end bound is passed: send `endMarker` and stop reading.
        case finish
    }

    public let subscriptionID: String
    public let destination: Destination
    public let mode: AckMode
    public let prefetch: Int?
    /// The end bound, with `head` already resolved to an offset.
    public let end: ReplayEnd?
    /// Distinguishes this subscription's ack ids from every other on the connection.
    public let serial: UInt64
    public private(set) var finished = false
    public private(set) var delivered = 0
    /// With `client` acknowledgements: the newest offset acknowledged (and everything before it).
    public private(set) var acknowledgedThrough: UInt64?
    /// Offsets delivered and not yet acknowledged, oldest first.
    private var unacknowledged: [UInt64] = []

    /// Delivery records of the destination are delivered too (`muster-include-acks:true`).
    public var includeAcks = false

    public init(subscriptionID: String, destination: Destination, mode: AckMode, prefetch: Int?, end: ReplayEnd?, serial: UInt64) {
        self.subscriptionID = subscriptionID
        self.destination = destination
        self.mode = mode
        self.prefetch = prefetch
        self.end = end
        self.serial = serial
    }

    /// True while the client may receive more (not finished, prefetch window open).
    public var wantsMore: Bool {
        guard !finished else { return false }
        guard mode != .auto, let prefetch else { return true }
        return unacknowledged.count < prefetch
    }

    public var pendingCount: Int { unacknowledged.count }

    /// Decides about the next record in log order.
    public mutating func consider(offset: UInt64, timestamp: Int64, destination recordDestination: String) -> Step {
        consider(offset: offset, timestamp: timestamp, selected: recordDestination == destination.description)
    }

    /// Decides about the next record in log order, which the stream `selected` (or not) by its own
    /// rule (an export stream selects by the record's export stamp, not its destination).
    public mutating func consider(offset: UInt64, timestamp: Int64, selected: Bool) -> Step {
        guard !finished else { return .finish }
        switch end {
        case .offset(let last) where offset > last:
            finished = true
            return .finish
        case .timestamp(let before) where timestamp >= before:
            finished = true
            return .finish
        default:
            break
        }
        guard selected else { return .skip }
        delivered += 1
        guard mode != .auto else { return .deliver(ackID: nil) }
        unacknowledged.append(offset)
        return .deliver(ackID: Self.ackID(serial: serial, offset: offset))
    }

    /// Called when the reader is at the log's durable head. `nextOffset` is where the next record
    /// will go; `timestampFloor` is the earliest stamp a future record can get (nil while appends
    /// are in flight). Returns true when the replay is complete and the end marker is due.
    public mutating func reachedHead(nextOffset: UInt64, timestampFloor: Int64?) -> Bool {
        guard !finished else { return false }
        switch end {
        case .offset(let last) where nextOffset > last:
            finished = true
        case .timestamp(let before):
            if let floor = timestampFloor, floor >= before { finished = true }
        default:
            break
        }
        return finished
    }

    /// Settles a delivery: `client` acknowledges everything up to it, `client-individual` just it.
    public mutating func acknowledge(_ ackID: String) throws(BrokerError) {
        guard let offset = Self.offset(in: ackID, serial: serial), let index = unacknowledged.firstIndex(of: offset) else {
            throw BrokerError(.unknownAck, "ack id '\(ackID)' does not name an unsettled delivery of subscription '\(subscriptionID)'")
        }
        if mode == .client {
            unacknowledged.removeSubrange(...index)
            acknowledgedThrough = offset
        } else {
            unacknowledged.remove(at: index)
        }
    }

    /// The ack id of the unsettled delivery of the record at `offset`, if there is one (what an
    /// ACK of STOMP 1.0 or 1.1, which names the message, settles).
    public func ackID(ofUnacknowledged offset: UInt64) -> String? {
        unacknowledged.contains(offset) ? Self.ackID(serial: serial, offset: offset) : nil
    }

    /// The frame that tells the client the replay is complete: a RECEIPT whose receipt-id is
    /// `muster-end:SUBSCRIPTION-ID`, with the first offset after the range and the count delivered.
    public func endMarker(nextOffset: UInt64) -> StompFrame {
        StompFrame(.receipt, headers: [
            "receipt-id": ReplayHeader.endMarkerPrefix + subscriptionID,
            "subscription": subscriptionID,
            "destination": destination.description,
            ReplayHeader.endOffset: String(nextOffset),
            ReplayHeader.replayed: String(delivered),
        ])
    }

    /// Replay ack ids look like `r3.1042` (subscription serial, offset); live ones are plain numbers.
    public static func ackID(serial: UInt64, offset: UInt64) -> String { "r\(serial).\(offset)" }

    /// The serial of the replay subscription an ack id belongs to, if it is a replay ack id.
    public static func serial(of ackID: String) -> UInt64? {
        guard ackID.hasPrefix("r"), let dot = ackID.firstIndex(of: ".") else { return nil }
        return UInt64(ackID[ackID.index(after: ackID.startIndex)..<dot])
    }

    static func offset(in ackID: String, serial: UInt64) -> UInt64? {
        guard Self.serial(of: ackID) == serial, let dot = ackID.firstIndex(of: ".") else { return nil }
        return UInt64(ackID[ackID.index(after: dot)...])
    }
}
