/// The `format` values the validator enforces; any other value is refused when a schema
/// is compiled, so a format is never silently unchecked.
enum StringFormat: String, CaseIterable, Sendable {
    case dateTime = "date-time"
    case date
    case time
    case duration
    case uri
    case email

    /// What a conforming string looks like, for violation reasons.
    var expectation: String {
        switch self {
        case .dateTime: return "a date-time (RFC 3339, e.g. 2026-11-21T09:30:00+08:00)"
        case .date: return "a date (RFC 3339 full-date, e.g. 2026-11-21)"
        case .time: return "a time with offset (RFC 3339 full-time, e.g. 09:30:00+08:00)"
        case .duration: return "a duration (RFC 3339 appendix A, e.g. P1DT12H or PT30M)"
        case .uri: return "an absolute URI (RFC 3986, e.g. https://example.org/path)"
        case .email: return "an email address (RFC 5321 mailbox, e.g. duty@example.org)"
        }
    }

    /// Nil when `string` conforms, else what is wrong with it.
    func problem(in string: String) -> String? {
        let bytes = Array(string.utf8)
        switch self {
        case .dateTime: return RFC3339Format.dateTimeProblem(bytes)
        case .date: return RFC3339Format.dateProblem(bytes[...])
        case .time: return RFC3339Format.timeProblem(bytes[...])
        case .duration: return DurationFormat.problem(bytes)
        case .uri: return URIFormat.problem(bytes)
        case .email: return EmailFormat.problem(bytes)
        }
    }
}
