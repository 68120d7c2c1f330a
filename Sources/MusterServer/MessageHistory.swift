import MusterBroker
import MusterLog
import MusterProtocol

/// The store's read side, as a connection uses it: where a replay starts and ends, readers
/// over the records, one message's delivery history. Sessions see the log only through this.
protocol MessageHistory: AnyObject, Sendable {
    /// The offset the next record will get.
    var nextOffset: UInt64 { get }
    /// The oldest time a record not yet written may carry (a replay bounded by time ends once it has passed).
    func timestampFloor() -> Int64?
    /// Where a replay from `start` of `destination` begins.
    func startOffset(of start: ReplayStart, destination: Destination) throws(BrokerError) -> UInt64
    /// `head` as the newest offset now (on an empty log, a bound every record passes); other ends unchanged.
    func resolve(_ end: ReplayEnd?) -> ReplayEnd?
    /// A reader from `offset` on; used by one thread at a time.
    func cursor(from offset: UInt64) -> LogCursor
    /// Up to `limit` of `destination`'s messages (and its delivery records, `includingAcks`) from
    /// `offset` on, in log order, about `maxBytes` at most, and where to go on from: only those
    /// records are read.
    func records(of destination: Destination, includingAcks: Bool, from offset: UInt64, limit: Int, maxBytes: Int) throws(LogError) -> (records: [LogRecord], next: UInt64)
    /// Calls `observer` after each durable append, until `stopWatching`; returns its token.
    func watchAppends(_ observer: @escaping @Sendable () -> Void) -> UInt64
    func stopWatching(_ token: UInt64)
    func read(_ destination: Destination, offsets: [UInt64]) throws(BrokerError) -> [StoredMessage]
    /// Every delivery event about the message at `offset` of `destination`, once the queued ones are durable.
    func history(of destination: Destination, offset: UInt64) throws(BrokerError) -> [LedgerEvent]
}

extension LogMessageStore: MessageHistory {

    func timestampFloor() -> Int64? { log.timestampFloor() }

    func startOffset(of start: ReplayStart, destination: Destination) throws(BrokerError) -> UInt64 {
        switch start {
        case .first: return log.firstOffset
        case .last: return log.lastOffset(for: destination.description) ?? log.nextOffset
        case .next: return log.nextOffset
        case .offset(let offset): return max(offset, log.firstOffset)
        case .timestamp(let milliseconds):
            do throws(LogError) {
                return try log.firstOffset(atOrAfter: milliseconds)
            } catch {
                throw BrokerError(.storageFailure, "the log's time index cannot be read: \(error)")
            }
        }
    }

    func resolve(_ end: ReplayEnd?) -> ReplayEnd? {
        guard case .head = end else { return end }
        let next = log.nextOffset
        return next == 0 ? .timestamp(milliseconds: .min) : .offset(next - 1)
    }

    func cursor(from offset: UInt64) -> LogCursor { log.cursor(from: offset) }

    func records(of destination: Destination, includingAcks: Bool, from offset: UInt64, limit: Int, maxBytes: Int) throws(LogError) -> (records: [LogRecord], next: UInt64) {
        let messages = try log.records(of: destination.description, from: offset, limit: limit, maxBytes: maxBytes)
        guard includingAcks else { return messages }
        let deliveries = try log.records(of: destination.description, kind: .delivery, from: offset, limit: limit, maxBytes: maxBytes)
        // Each list holds every record of its kind below its `next`: below the smaller, both are complete.
        let next = min(messages.next, deliveries.next)
        let merged = (messages.records + deliveries.records).filter { $0.offset < next }.sorted { $0.offset < $1.offset }
        return (merged, next)
    }

    func watchAppends(_ observer: @escaping @Sendable () -> Void) -> UInt64 {
        log.observeAppends { _ in observer() }
    }

    func stopWatching(_ token: UInt64) { log.removeObserver(token) }
}
