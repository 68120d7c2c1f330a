/// A version of STOMP that Muster speaks, and what it changes on the wire: how header names and
/// values are escaped. CONNECT and CONNECTED frames are never escaped, in any version.
///
/// - 1.2 escapes `\\`, `\n`, `\r` and `\c` (colon).
/// - 1.1 escapes `\\`, `\n` and `\c`; it has no escape for CR, so `\r` is an invalid escape
///   when decoding, and the encoder writes a CR as a space (a raw CR before the LF would be
///   taken for a line end by readers that accept CRLF).
/// - 1.0 has no escaping: a backslash is an ordinary character and a value may contain colons
///   (the header's name ends at the first one). The encoder writes LF and CR as spaces and
///   leaves out a header whose name contains a colon, which 1.0 cannot express.
public enum StompVersion: String, Sendable, CaseIterable, Comparable {
    case v1_0 = "1.0"
    case v1_1 = "1.1"
    case v1_2 = "1.2"

    /// Every version spoken, lowest first, comma-separated (`1.0,1.1,1.2`).
    public static let spoken = allCases.map(\.rawValue).joined(separator: ",")

    /// The highest version that both a client's `accept-version` and this broker speak;
    /// a CONNECT without the header speaks 1.0. Nil when no offered version is spoken.
    public static func negotiate(acceptVersion: String?) -> StompVersion? {
        guard let acceptVersion else { return .v1_0 }
        let offered = acceptVersion.split(separator: ",").map { trimmedOfSpaces($0) }
        return allCases.reversed().first { offered.contains($0.rawValue) }
    }

    public static func < (lhs: StompVersion, rhs: StompVersion) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// Whether this version escapes the headers of `command` at all.
    func escapes(_ command: StompCommand) -> Bool {
        self != .v1_0 && command.escapesHeaders
    }
}

/// `text` without the spaces and tabs around it.
private func trimmedOfSpaces(_ text: Substring) -> String {
    var slice = text
    while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
    while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
    return String(slice)
}
