public import MusterProtocol

/// Every subscription of one connection, whatever serves it: the broker's routing (live topic
/// subscriptions and tracked consumers) or a replay of the connection's own. It owns the ids
/// (one check for "already in use"), the replay serials that name replay ack ids, and which
/// live topic subscriptions fell behind and are served from the log for a while. Pure: the
/// session performs what it decides.
public struct SessionSubscriptions: Sendable {
    /// What serves a subscription.
    public enum Served: Equatable, Sendable {
        /// The broker's routing (live or tracked).
        case routed
        /// A replay stream of this connection; `serial` names its ack ids.
        case replay(serial: UInt64)
    }

    /// What to do with a live topic message routed to a subscription.
    public enum FlowDecision: Equatable, Sendable {
        case write
        /// A reader from the log (or an earlier push) covers this offset.
        case drop
        /// The connection is too far behind: stop pushing and serve it from the log from this offset.
        case follow(UInt64)
    }

    /// Unsent bytes on a connection beyond which its live topic subscriptions are served from the log.
    public static let laggingHighWater = 4 << 20

    private var served: [String: Served] = [:]
    private var nextSerial: UInt64 = 1
    /// Subscription id → the first offset not pushed, while it is served from the log.
    public private(set) var lagging: [String: UInt64] = [:]
    /// Subscription id → offsets below this were already sent by the reader that just rejoined.
    private var sentBelow: [String: UInt64] = [:]

    public init() {}

    public var ids: Set<String> { Set(served.keys) }

    public func serving(_ id: String) -> Served? { served[id] }

    /// Refuses an id already in use on this connection.
    public func checkFree(_ id: String) throws(BrokerError) {
        guard served[id] == nil else {
            throw BrokerError(.duplicateSubscription, "subscription id '\(id)' is already in use on this connection")
        }
    }

    /// Records a subscription the broker routes to (after the broker accepted it).
    public mutating func addRouted(_ id: String) throws(BrokerError) {
        try checkFree(id)
        served[id] = .routed
    }

    /// Records a replay; returns its serial.
    public mutating func addReplay(_ id: String) throws(BrokerError) -> UInt64 {
        try checkFree(id)
        let serial = takeSerial()
        served[id] = .replay(serial: serial)
        return serial
    }

    /// A serial no replay of this connection uses (query answers number their messages with one).
    public mutating func takeSerial() -> UInt64 {
        defer { nextSerial += 1 }
        return nextSerial
    }

    /// Forgets a subscription; what served it, or nil if the id was not in use.
    @discardableResult
    public mutating func remove(_ id: String) -> Served? {
        lagging[id] = nil
        sentBelow[id] = nil
        return served.removeValue(forKey: id)
    }

    /// Forgets every subscription (the connection closed).
    public mutating func removeAll() {
        self = SessionSubscriptions()
    }

    /// The replay subscription an ack id belongs to: nil for an ack id of the broker's (not
    /// replay-shaped); a refusal for a replay-shaped id no replay of this connection issued.
    public func replay(owningAck ackID: String) throws(BrokerError) -> String? {
        guard let serial = ReplayState.serial(of: ackID) else { return nil }
        guard let id = served.first(where: { $0.value == .replay(serial: serial) })?.key else {
            throw BrokerError(.unknownAck, "ack id '\(ackID)' belongs to no replay subscription of this connection")
        }
        return id
    }

    /// The ids of this connection's replay subscriptions (just `id` when given and a replay).
    public func replayIDs(named id: String? = nil) -> [String] {
        served.filter { entry in
            guard case .replay = entry.value else { return false }
            return id == nil || entry.key == id
        }.keys.sorted()
    }

    // MARK: Live topic flow

    /// Decides, under the broker's lock and in offset order, whether a live topic message is
    /// pushed, covered by the reader from the log, or the start of reading from the log.
    public mutating func decide(subscriptionID id: String, offset: UInt64, backlog: Int) -> FlowDecision {
        if lagging[id] != nil { return .drop }
        if let below = sentBelow[id] {
            if offset < below { return .drop }
            sentBelow[id] = nil
        }
        guard backlog > Self.laggingHighWater else { return .write }
        lagging[id] = offset
        return .follow(offset)
    }

    /// Back to live pushes: the reader from the log sent everything below `next`.
    public mutating func rejoin(subscriptionID id: String, at next: UInt64) {
        lagging[id] = nil
        sentBelow[id] = next
    }
}
