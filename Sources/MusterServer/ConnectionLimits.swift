import MusterProtocol
import Synchronization

/// Broker-wide bounds on connections (in all and per party) and on the memory their unfinished
/// frames hold, so that neither a slow sender nor many of them can hold the broker's memory.
final class ConnectionLimits: Sendable {
    struct Settings: Sendable, Equatable {
        var maxConnections = 20_000
        var maxConnectionsPerParty = 1_000
        /// Bytes all connections' unfinished frames may hold together.
        var inboundBufferBytes = 64 << 20
        /// How long a frame may take to arrive once its first byte has.
        var frameTimeout: Duration = .seconds(30)
    }

    let settings: Settings
    private let perParty = Mutex<[PartyIdentity: Int]>([:])
    private let inbound = Atomic<Int>(0)

    init(_ settings: Settings) {
        self.settings = settings
    }

    /// Counts a connection of `party`, or says why it may not have another.
    func admit(_ party: PartyIdentity) -> BrokerError? {
        perParty.withLock { counts in
            let open = counts[party, default: 0]
            guard open < settings.maxConnectionsPerParty else {
                return BrokerError(.limitExceeded, "\(party) already has \(open) connections (limits.max-connections-per-party); close one first")
            }
            counts[party] = open + 1
            return nil
        }
    }

    func release(_ party: PartyIdentity) {
        perParty.withLock { counts in
            counts[party] = counts[party].map { $0 - 1 }.flatMap { $0 > 0 ? $0 : nil }
        }
    }

    /// Moves a connection's share of the inbound budget from `old` to `new` bytes; false, and
    /// nothing moved, when that would take the broker over its budget.
    func reserve(from old: Int, to new: Int) -> Bool {
        var current = inbound.load(ordering: .relaxed)
        while true {
            let next = current - old + new
            if new > old, next > settings.inboundBufferBytes { return false }
            let (exchanged, original) = inbound.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// What all connections' unfinished frames hold now.
    var inboundBytes: Int { inbound.load(ordering: .relaxed) }
}

/// One connection's unfinished frame: when it started and its share of the inbound budget.
struct UnfinishedFrame {
    private(set) var reserved = 0
    private(set) var startedAt: ContinuousClock.Instant?

    /// After decoding: `buffered` bytes of a frame not yet complete remain (0: none).
    mutating func update(buffered: Int, now: ContinuousClock.Instant, limits: ConnectionLimits) throws(BrokerError) {
        guard limits.reserve(from: reserved, to: buffered) else {
            throw BrokerError(.limitExceeded, "the broker holds \(limits.inboundBytes) bytes of unfinished frames, its limit "
                              + "(limits.max-inbound-buffer-bytes, \(limits.settings.inboundBufferBytes)); send the frame again later")
        }
        reserved = buffered
        startedAt = buffered == 0 ? nil : (startedAt ?? now)
    }

    /// Why the connection must close: its frame has taken longer than the frame timeout.
    func overdue(now: ContinuousClock.Instant, limits: ConnectionLimits) -> BrokerError? {
        guard let startedAt, now - startedAt > limits.settings.frameTimeout else { return nil }
        return BrokerError(.limitExceeded, "a frame started \(now - startedAt) ago is still unfinished (limits.frame-timeout, \(limits.settings.frameTimeout))")
    }

    /// Gives the connection's share back (it closed).
    mutating func release(_ limits: ConnectionLimits) {
        _ = limits.reserve(from: reserved, to: 0)
        reserved = 0
        startedAt = nil
    }
}
