import Glibc

/// The clock of the `muster` processes a test starts: the wall clock, or one that runs `rate`
/// times as fast from a reading of the test's choosing, so that a 30-minute deadline passes in
/// a second. `muster` reads it from MUSTER_TEST_CLOCK (tests only: `muster serve --help`), the
/// broker for its workflow times, ack-waits and timers, the tool for "now" (a hand-off's `--due
/// 1d`, an offline report's end); the test reads the same clock with `now()`.
///
/// At wall time `wallAnchor` (milliseconds since 1970) the clock reads `anchor`; it runs `rate`
/// milliseconds per real millisecond from there.
public struct BrokerClock: Sendable, Equatable, CustomStringConvertible {
    public static let environmentVariable = "MUSTER_TEST_CLOCK"

    public let rate: Double
    public let wallAnchor: Int64
    public let anchor: Int64

    /// The wall clock (nothing is set in the environment).
    public static let wall = BrokerClock(rate: 1, wallAnchor: 0, anchor: 0)

    public init(rate: Double, wallAnchor: Int64, anchor: Int64) {
        precondition(rate >= 1, "a test clock runs at least as fast as the wall clock")
        self.rate = rate
        self.wallAnchor = wallAnchor
        self.anchor = anchor
    }

    /// A clock that reads the wall time now and runs `rate` times as fast from here.
    public static func running(rate: Double) -> BrokerClock {
        let now = wallMilliseconds()
        return BrokerClock(rate: rate, wallAnchor: now, anchor: now)
    }

    public var isWall: Bool { self == .wall }

    /// Milliseconds since 1970 on this clock.
    public func now() -> Int64 {
        if isWall { return Self.wallMilliseconds() }
        return anchor + Int64((Double(Self.wallMilliseconds() - wallAnchor) * rate).rounded(.down))
    }

    /// The same clock, moved on by `milliseconds` from now: what a broker started with it sees
    /// as that much time having passed (while it was down, say).
    public func advanced(by milliseconds: Int64) -> BrokerClock {
        let wall = Self.wallMilliseconds()
        return BrokerClock(rate: rate, wallAnchor: wall, anchor: (isWall ? wall : now()) + milliseconds)
    }

    /// How long `milliseconds` on this clock take in real time.
    public func realTime(of milliseconds: Int64) -> Duration {
        .milliseconds(Int64((Double(milliseconds) / rate).rounded(.up)))
    }

    /// MUSTER_TEST_CLOCK for a `muster` process: "RATE,WALL_MS,READING_MS" (nothing for the wall clock).
    public var environment: [String: String] {
        isWall ? [:] : [Self.environmentVariable: "\(rate),\(wallAnchor),\(anchor)"]
    }

    public var description: String { isWall ? "the wall clock" : "\(rate)× from \(anchor) at wall \(wallAnchor)" }

    /// CLOCK_REALTIME in milliseconds, as the broker's wall clock reads it.
    public static func wallMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
