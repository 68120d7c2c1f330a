/// The one way durations are written, on the command line and in the configuration files:
/// numbers with units, one or several (`500ms`, `90s`, `30m`, `1h30m`, `12h`, `400d`, `2w`),
/// or an ISO 8601 duration without years or months (`PT30M`, `P1DT2H`, `P2W`), which is also
/// what workflow messages carry. Years and months are refused: their length depends on the calendar.
public enum DurationText {
    /// What an error message offers as examples.
    public static let examples = "500ms, 90s, 30m, 1h30m, 12h, 400d or PT30M"

    /// Milliseconds in `text`; nil if it is not a duration.
    public static func milliseconds(_ text: String) -> Int64? {
        text.hasPrefix("P") ? milliseconds(iso8601: text) : milliseconds(units: text)
    }

    /// The ISO 8601 form of a duration of whole seconds (`PT1H30M`, `P1DT2H`); nil for a fraction of a second.
    public static func iso8601(milliseconds: Int64) -> String? {
        guard milliseconds >= 0, milliseconds % 1000 == 0 else { return nil }
        let seconds = milliseconds / 1000
        let days = seconds / 86_400, hours = seconds % 86_400 / 3600, minutes = seconds % 3600 / 60, rest = seconds % 60
        var time = ""
        if hours > 0 { time += "\(hours)H" }
        if minutes > 0 { time += "\(minutes)M" }
        if rest > 0 || (days == 0 && time.isEmpty) { time += "\(rest)S" }
        return "P" + (days > 0 ? "\(days)D" : "") + (time.isEmpty ? "" : "T" + time)
    }

    /// `1h30m`, `500ms`: each number followed by its unit (ms, s, m, h, d, w), largest first.
    private static func milliseconds(units text: String) -> Int64? {
        let units: [(String, Int64)] = [("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("ms", 1), ("m", 60_000), ("s", 1000)]
        var rest = Substring(text)
        var total: Int64 = 0
        var lastUnit = Int64.max
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (name, unit) = units.first(where: { rest.hasPrefix($0.0) }), unit < lastUnit else { return nil }
            rest = rest.dropFirst(name.count)
            lastUnit = unit
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !overflow, !sumOverflow else { return nil }
            total = sum
        }
        return text.isEmpty ? nil : total
    }

    /// Milliseconds in an ISO 8601 duration such as PT30M, P1DT2H or P2W; nil for anything else.
    public static func milliseconds(iso8601 text: String) -> Int64? {
        var rest = Substring(text)
        guard rest.first == "P" else { return nil }
        rest = rest.dropFirst()
        var total: Int64 = 0
        var inTime = false
        var digits = ""
        var sawComponent = false
        var componentsAfterT = 0
        for character in rest {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            if character == "T", digits.isEmpty, !inTime {
                inTime = true
                continue
            }
            guard let value = Int64(digits) else { return nil }
            digits = ""
            let unit: Int64
            switch (character, inTime) {
            case ("W", false): unit = 7 * 86_400_000
            case ("D", false): unit = 86_400_000
            case ("H", true): unit = 3_600_000
            case ("M", true): unit = 60_000
            case ("S", true): unit = 1000
            default: return nil
            }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !overflow, !sumOverflow else { return nil }
            total = sum
            sawComponent = true
            if inTime { componentsAfterT += 1 }
        }
        // "P1DT" names no time component after its T: not a duration.
        return digits.isEmpty && sawComponent && (!inTime || componentsAfterT > 0) ? total : nil
    }
}
