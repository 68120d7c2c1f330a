/// RFC 3339 appendix A `duration`, exactly as its ABNF reads:
///
///     duration = "P" (dur-date / dur-time / dur-week)
///     dur-date = (dur-day / dur-month / dur-year) [dur-time]
///     dur-time = "T" (dur-hour / dur-minute / dur-second)
///
/// Components are whole numbers, appear in order (Y M D, then T and H M S) and cannot skip
/// one in between: P1Y0M1D is a duration, P1Y1D is not. Weeks stand alone (P2W).
enum DurationFormat {
    private static let dateDesignators: [UInt8] = Array("YMD".utf8)
    private static let timeDesignators: [UInt8] = Array("HMS".utf8)

    static func problem(_ bytes: [UInt8]) -> String? {
        guard bytes.first == UInt8(ascii: "P") else { return "a duration starts with P" }
        var index = 1
        guard index < bytes.count else { return "P must be followed by at least one component such as 1D or T1H" }
        if let weekProblem = weeks(bytes) { return weekProblem.isEmpty ? nil : weekProblem }
        if bytes[index] != UInt8(ascii: "T") {
            if let problem = components(bytes, from: &index, designators: dateDesignators, part: "date") { return problem }
        }
        guard index < bytes.count else { return nil }
        guard bytes[index] == UInt8(ascii: "T") else { return "unexpected '\(character(bytes[index]))'; time components go after T" }
        index += 1
        guard index < bytes.count else { return "T must be followed by at least one of H, M, S" }
        if let problem = components(bytes, from: &index, designators: timeDesignators, part: "time") { return problem }
        return index == bytes.count ? nil : "unexpected '\(character(bytes[index]))' after the time components"
    }

    /// "" when the duration is a valid week form, a problem when it mixes weeks with other
    /// components, nil when it has no W at all.
    private static func weeks(_ bytes: [UInt8]) -> String? {
        guard bytes.last == UInt8(ascii: "W") else {
            return bytes.contains(UInt8(ascii: "W")) ? "weeks (W) cannot be combined with other components" : nil
        }
        let digits = bytes.dropFirst().dropLast()
        guard !digits.isEmpty else { return "W must follow a whole number of weeks" }
        guard digits.allSatisfy(RFC3339Format.isDigit) else {
            return "weeks (W) cannot be combined with other components"
        }
        return ""
    }

    /// Reads number-designator pairs while they form an unbroken run of `designators`.
    private static func components(_ bytes: [UInt8], from index: inout Int, designators: [UInt8], part: String) -> String? {
        var expected: Int? = nil   // position in `designators` the next component must have
        while index < bytes.count, bytes[index] != UInt8(ascii: "T") {
            let digitsStart = index
            while index < bytes.count, RFC3339Format.isDigit(bytes[index]) { index += 1 }
            guard index > digitsStart else {
                return "unexpected '\(character(bytes[index]))'; each component is a whole number followed by a designator"
            }
            guard index < bytes.count else { return "the number \(String(decoding: bytes[digitsStart..<index], as: UTF8.self)) has no designator" }
            guard let position = designators.firstIndex(of: bytes[index]) else {
                let designator = character(bytes[index])
                if designator == "." || designator == "," { return "components must be whole numbers" }
                if part == "date" && "HS".contains(designator) { return "\(designator) is a time component and must come after T" }
                return "'\(designator)' is not a \(part) designator (\(String(decoding: designators, as: UTF8.self).map(String.init).joined(separator: ", ")))"
            }
            if let expected, position != expected {
                return position < expected
                    ? "components must be in the order \(String(decoding: designators, as: UTF8.self).map(String.init).joined(separator: ", "))"
                    : "RFC 3339 does not allow skipping a component in between: write a zero instead (e.g. P1Y0M1D, PT1H0M1S)"
            }
            expected = position + 1
            index += 1
        }
        return nil
    }

    private static func character(_ byte: UInt8) -> String {
        byte < 0x80 ? String(Character(Unicode.Scalar(byte))) : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
}
