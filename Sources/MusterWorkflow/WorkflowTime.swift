import Foundation
import MusterProtocol

/// The times workflow messages carry: RFC 3339 date-times with an offset, and the
/// calendar-free ISO 8601 durations the schemas admit (weeks, days, hours, minutes, seconds).
/// Inside the workflow every time is milliseconds since 1970.
public enum WorkflowTime {
    /// Milliseconds since 1970 for an RFC 3339 date-time with offset; nil if it is not one.
    public static func milliseconds(rfc3339 text: String) -> Int64? {
        // RFC 3339 allows a lower-case t and z; the parser wants them upper-case.
        let text = text.uppercased()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    /// Milliseconds in a duration such as PT30M, P1DT2H or P2W; nil for anything else
    /// (years and months included: their length depends on the calendar).
    public static func milliseconds(duration text: String) -> Int64? {
        DurationText.milliseconds(iso8601: text)
    }

    /// An absolute date-time or a duration counted from `origin`.
    public static func milliseconds(pointInTime text: String, from origin: Int64) -> Int64? {
        if text.hasPrefix("P") {
            guard let duration = milliseconds(duration: text) else { return nil }
            let (sum, overflow) = origin.addingReportingOverflow(duration)
            return overflow ? nil : sum
        }
        return milliseconds(rfc3339: text)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. 2026-06-12T01:40:00.000Z.
    public static func rfc3339(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// A duration for people: 45s, 12m 30s, 2h 5m, 3d 4h.
    public static func humanDuration(_ milliseconds: Int64) -> String {
        let seconds = abs(milliseconds) / 1000
        let sign = milliseconds < 0 ? "-" : ""
        switch seconds {
        case ..<60: return "\(sign)\(seconds)s"
        case ..<3600: return "\(sign)\(seconds / 60)m" + (seconds % 60 == 0 ? "" : " \(seconds % 60)s")
        case ..<86_400: return "\(sign)\(seconds / 3600)h" + (seconds % 3600 / 60 == 0 ? "" : " \(seconds % 3600 / 60)m")
        default: return "\(sign)\(seconds / 86_400)d" + (seconds % 86_400 / 3600 == 0 ? "" : " \(seconds % 86_400 / 3600)h")
        }
    }
}
