import Foundation
import Glibc
import Synchronization
public import MusterProtocol

/// Where accepted messages go before anyone is told about them, and where consumers read
/// them back. The durable log plugs in here; `append` reports through `completion` once the
/// message is as safe as the store promises (for the log: on stable storage), and
/// completions come in offset order.
public protocol MessageStore: Sendable {
    func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void)
    /// Records delivery events; `completion` (if any) runs once they are stored.
    func record(_ events: [LedgerEvent], completion: (@Sendable (BrokerError?) -> Void)?)
    /// The offset the next record will get.
    var nextOffset: UInt64 { get }
    /// Up to `limit` messages of `destination` from `offset` on, and the offset the read reached:
    /// every message of the destination below it was returned.
    func read(_ destination: Destination, from offset: UInt64, limit: Int) throws(BrokerError) -> (messages: [StoredMessage], scannedTo: UInt64)
    /// The messages at these offsets (those the store still holds).
    func read(_ destination: Destination, offsets: [UInt64]) throws(BrokerError) -> [StoredMessage]
    /// Calls `observer` whenever new messages are stored (on the thread that stored them).
    func observeAppends(_ observer: @escaping @Sendable () -> Void)
    /// Returns once everything recorded so far is on stable storage (delivery events without
    /// a completion may be made durable a little after they are stored).
    func waitUntilDurable()
    /// Like `append(_:completion:)`; with `deferCommit` the store may wait for `commitPending()`
    /// before it writes (so that appends made together are written together).
    func append(_ publication: Publication, deferCommit: Bool,
                completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void)
    /// Writes the deferred appends now (on the calling thread, if the store can); returns
    /// whether they were written on the calling thread.
    @discardableResult
    func commitPending() -> Bool
}

extension MessageStore {
    public func waitUntilDurable() {}

    public func append(_ publication: Publication, deferCommit: Bool,
                       completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        append(publication, completion: completion)
    }

    public func commitPending() -> Bool { false }
}

/// Keeps everything in memory: the broker without a log (tests and experiments).
public final class InMemoryMessageStore: MessageStore {
    private struct State {
        var messages: [StoredMessage] = []
        var events: [LedgerEvent] = []
        var observers: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())
    /// Held while a completion runs, so completions come in offset order; recursive, because a
    /// completion may store again (a dead letter, its record).
    private let completing = NSRecursiveLock()
    private let clock: @Sendable () -> Int64

    public init(clock: @escaping @Sendable () -> Int64 = { WallClock.milliseconds() }) {
        self.clock = clock
    }

    public func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        completing.lock()
        let (stored, observers) = state.withLock { state in
            let stored = StoredMessage(offset: UInt64(state.messages.count), timestamp: clock(), publication: publication)
            state.messages.append(stored)
            return (stored, state.observers)
        }
        completion(.success(stored))
        completing.unlock()
        for observer in observers { observer() }
    }

    public func record(_ events: [LedgerEvent], completion: (@Sendable (BrokerError?) -> Void)?) {
        state.withLock { $0.events += events }
        completion?(nil)
    }

    public var nextOffset: UInt64 { state.withLock { UInt64($0.messages.count) } }

    /// The delivery events recorded so far.
    public var events: [LedgerEvent] { state.withLock { $0.events } }

    public func read(_ destination: Destination, from offset: UInt64, limit: Int) throws(BrokerError) -> (messages: [StoredMessage], scannedTo: UInt64) {
        state.withLock { state in
            var found: [StoredMessage] = []
            var position = Int(offset)
            while position < state.messages.count, found.count < limit {
                if state.messages[position].destination == destination { found.append(state.messages[position]) }
                position += 1
            }
            return (found, UInt64(position))
        }
    }

    public func read(_ destination: Destination, offsets: [UInt64]) throws(BrokerError) -> [StoredMessage] {
        state.withLock { state in
            offsets.compactMap { $0 < state.messages.count ? state.messages[Int($0)] : nil }.filter { $0.destination == destination }
        }
    }

    public func observeAppends(_ observer: @escaping @Sendable () -> Void) {
        state.withLock { $0.observers.append(observer) }
    }
}

public enum WallClock {
    /// Milliseconds since 1970 (CLOCK_REALTIME).
    public static func milliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
