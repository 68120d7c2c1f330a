import Synchronization

/// A clock the test moves by hand, in milliseconds since 1970 like the broker's and the log's
/// clocks (`@Sendable () -> Int64`). Nothing moves it but the test, so a test of deadlines,
/// retention or ack-waits states exactly how much time passed.
///
/// `step` makes every `read()` advance it afterwards (each reading a little later than the
/// one before, as a real clock would be).
public final class ManualClock: Sendable {
    private let state: Mutex<(now: Int64, step: Int64)>

    public init(_ start: Int64 = 1_000_000, step: Int64 = 0) {
        state = Mutex((start, step))
    }

    /// The time now, without moving the clock.
    public var now: Int64 { state.withLock { $0.now } }

    /// Reads the time (what the code under test calls) and then moves it by `step`.
    public func read() -> Int64 {
        state.withLock { state in
            defer { state.now += state.step }
            return state.now
        }
    }

    /// `read` as the closure the code under test takes.
    public var reading: @Sendable () -> Int64 { { self.read() } }

    public func set(_ now: Int64) { state.withLock { $0.now = now } }

    public func advance(by milliseconds: Int64) { state.withLock { $0.now += milliseconds } }

    public func advance(by duration: Duration) { advance(by: Int64(duration / .milliseconds(1))) }
}
