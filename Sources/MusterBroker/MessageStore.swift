import Glibc
import Synchronization

/// Where accepted messages go before anyone is told about them. The durable log plugs in
/// here; `append` reports through `completion` once the message is as safe as the store
/// promises (for the log: on stable storage), and completions come in offset order.
public protocol MessageStore: Sendable {
    func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void)
}

/// Keeps nothing but a counter: offsets and timestamps for the in-memory broker.
public final class InMemoryMessageStore: MessageStore {
    private let nextOffset = Mutex<UInt64>(0)
    private let clock: @Sendable () -> Int64

    public init(clock: @escaping @Sendable () -> Int64 = { WallClock.milliseconds() }) {
        self.clock = clock
    }

    public func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        // Completing inside the lock keeps completions in offset order, as the store contract requires.
        nextOffset.withLock { next in
            let stored = StoredMessage(offset: next, timestamp: clock(), publication: publication)
            next += 1
            completion(.success(stored))
        }
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
