import ArgumentParser
import Foundation

/// A `--from` / `--until` value: `offset=N`, `timestamp=UNIX-SECONDS`, or an RFC 3339 time
/// (`2026-11-21T08:00:00Z`); `--from first` too. Offsets are inclusive; times start at
/// (`--from`) or stop before (`--until`) the instant.
enum RecordBound: Equatable, ExpressibleByArgument {
    case first
    case offset(UInt64)
    case milliseconds(Int64)

    init?(argument: String) {
        if argument == "first" { self = .first; return }
        if argument.hasPrefix("offset="), let offset = UInt64(argument.dropFirst("offset=".count)) {
            self = .offset(offset)
            return
        }
        if argument.hasPrefix("timestamp="), let seconds = Double(argument.dropFirst("timestamp=".count)), seconds >= 0 {
            self = .milliseconds(Int64((seconds * 1000).rounded()))
            return
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard let date = formatter.date(from: argument) ?? plain.date(from: argument) else { return nil }
        self = .milliseconds(Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    static var defaultValueDescription: String { "first" }

    /// Whether a record at this offset and time is at or after a `--from` bound.
    func admitsFrom(offset: UInt64, timestamp: Int64) -> Bool {
        switch self {
        case .first: return true
        case .offset(let start): return offset >= start
        case .milliseconds(let start): return timestamp >= start
        }
    }

    /// Whether a record at this offset and time is within an `--until` bound.
    func admitsUntil(offset: UInt64, timestamp: Int64) -> Bool {
        switch self {
        case .first: return false
        case .offset(let last): return offset <= last
        case .milliseconds(let end): return timestamp < end
        }
    }

    /// The bound as a STOMP header value (`x-stream-offset` or `muster-until`).
    var headerValue: String {
        switch self {
        case .first: return "first"
        case .offset(let offset): return "offset=\(offset)"
        case .milliseconds(let milliseconds):
            return "timestamp=\(milliseconds / 1000).\(String(format: "%03lld", milliseconds % 1000))"
        }
    }
}
