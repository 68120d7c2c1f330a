import Foundation
import Glibc

/// The clock of the `muster` processes a test starts: the wall clock, one that runs `rate`
/// times as fast from a reading of the test's choosing (a 30-minute deadline passes in a
/// second), or one the test moves by hand while the broker runs. `muster` reads it from
/// MUSTER_TEST_CLOCK (tests only: `muster serve --help`), the broker for its workflow times,
/// ack-waits and timers, the tool for "now" (a hand-off's `--due 1d`, an offline report's
/// end); the test reads the same clock with `now()`.
///
/// At wall time `wallAnchor` (milliseconds since 1970) the clock reads `anchor`; it runs `rate`
/// milliseconds per real millisecond from there. A clock moved by hand keeps that setting in a
/// file, which `advance(by:)` rewrites (the broker reads it again when it changes).
public struct BrokerClock: Sendable, Equatable, CustomStringConvertible {
    public static let environmentVariable = "MUSTER_TEST_CLOCK"

    public let rate: Double
    public let wallAnchor: Int64
    public let anchor: Int64
    /// For a clock moved by hand: the file that holds its setting (once a broker has placed it).
    public let file: String?
    /// A clock moved by hand whose file is not placed yet (`BrokerProcess.start` places it).
    let movedByHand: Bool

    /// The wall clock (nothing is set in the environment).
    public static let wall = BrokerClock(rate: 1, wallAnchor: 0, anchor: 0)

    public init(rate: Double, wallAnchor: Int64, anchor: Int64) {
        self.init(rate: rate, wallAnchor: wallAnchor, anchor: anchor, file: nil, movedByHand: false)
    }

    private init(rate: Double, wallAnchor: Int64, anchor: Int64, file: String?, movedByHand: Bool) {
        precondition(rate >= 1, "a test clock runs at least as fast as the wall clock")
        self.rate = rate
        self.wallAnchor = wallAnchor
        self.anchor = anchor
        self.file = file
        self.movedByHand = movedByHand
    }

    /// A clock that reads the wall time now and runs `rate` times as fast from here.
    public static func running(rate: Double) -> BrokerClock {
        let now = wallMilliseconds()
        return BrokerClock(rate: rate, wallAnchor: now, anchor: now)
    }

    /// A clock that reads the wall time and runs at `rate` until the test moves it with
    /// `BrokerProcess.advanceClock(by:)`.
    public static func movedByHand(rate: Double = 1) -> BrokerClock {
        let now = wallMilliseconds()
        return BrokerClock(rate: rate, wallAnchor: now, anchor: now, file: nil, movedByHand: true)
    }

    /// This clock with its setting written to `path` (a clock moved by hand), else itself.
    func placed(at path: String) throws -> BrokerClock {
        guard movedByHand, file == nil else { return self }
        let placed = BrokerClock(rate: rate, wallAnchor: wallAnchor, anchor: anchor, file: path, movedByHand: true)
        try placed.write(placed.setting)
        return placed
    }

    public var isWall: Bool { self == .wall }

    /// Milliseconds since 1970 on this clock.
    public func now() -> Int64 {
        if isWall { return Self.wallMilliseconds() }
        let (rate, wallAnchor, anchor) = current
        return anchor + Int64((Double(Self.wallMilliseconds() - wallAnchor) * rate).rounded(.down))
    }

    /// The same clock, moved on by `milliseconds` from now: what a broker started with it sees
    /// as that much time having passed (while it was down, say). A clock moved by hand is
    /// moved in its file.
    public func advanced(by milliseconds: Int64) throws -> BrokerClock {
        if file != nil {
            try advance(by: milliseconds)
            return self
        }
        let wall = Self.wallMilliseconds()
        return BrokerClock(rate: rate, wallAnchor: wall, anchor: now() + milliseconds)
    }

    /// Moves a clock moved by hand on by `milliseconds` (a running broker reads it at its
    /// next look; `BrokerProcess.advanceClock` makes it look at once).
    public func advance(by milliseconds: Int64) throws {
        guard file != nil else { throw ClockNotMovable(clock: description) }
        let reading = now() + milliseconds
        try write("\(current.rate),\(Self.wallMilliseconds()),\(reading)")
    }

    /// How long `milliseconds` on this clock take in real time.
    public func realTime(of milliseconds: Int64) -> Duration {
        .milliseconds(Int64((Double(milliseconds) / current.rate).rounded(.up)))
    }

    /// MUSTER_TEST_CLOCK for a `muster` process: "RATE,WALL_MS,READING_MS", or "@FILE" for a
    /// clock moved by hand (nothing for the wall clock).
    public var environment: [String: String] {
        if isWall { return [:] }
        if let file { return [Self.environmentVariable: "@" + file] }
        return [Self.environmentVariable: setting]
    }

    public var description: String {
        if isWall { return "the wall clock" }
        return "\(rate)× from \(anchor) at wall \(wallAnchor)" + (file.map { ", moved by hand in \($0)" } ?? "")
    }

    private var setting: String { "\(rate),\(wallAnchor),\(anchor)" }

    /// The setting now: the file's, for a clock moved by hand.
    private var current: (rate: Double, wallAnchor: Int64, anchor: Int64) {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return (rate, wallAnchor, anchor) }
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
        guard fields.count == 3, let rate = Double(fields[0]), let wall = Int64(fields[1]), let reading = Int64(fields[2]) else {
            return (self.rate, wallAnchor, anchor)
        }
        return (rate, wall, reading)
    }

    /// Replaces the file in one step (a reader sees the old setting or the new one).
    private func write(_ text: String) throws {
        guard let file else { return }
        let temporary = file + ".new"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, file) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file]) }
    }

    /// CLOCK_REALTIME in milliseconds, as the broker's wall clock reads it.
    public static func wallMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// Only a clock moved by hand can be moved while a broker runs on it.
public struct ClockNotMovable: Error, CustomStringConvertible {
    public let clock: String
    public var description: String { "\(clock) is not moved by hand (BrokerClock.movedByHand)" }
}
