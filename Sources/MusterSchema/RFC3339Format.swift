/// RFC 3339 section 5.6 `full-date`, `full-time` and `date-time`, with calendar checks.
///
/// A leap second (second 60) is accepted only where one can occur: at 23:59:60 UTC once the
/// offset is applied (RFC 3339 section 5.7 and appendix D). "T" and "Z" may be lower case,
/// as the note in section 5.6 allows.
enum RFC3339Format {
    static func dateTimeProblem(_ bytes: [UInt8]) -> String? {
        guard let separator = bytes.firstIndex(where: { $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: "t") }) else {
            if bytes.count > 10, dateProblem(bytes[..<10]) == nil { return "the date and time must be separated by 'T'" }
            return "the form is YYYY-MM-DDTHH:MM:SS followed by Z or an offset such as +08:00"
        }
        if let problem = dateProblem(bytes[..<separator]) { return problem }
        return timeProblem(bytes[(separator + 1)...])
    }

    /// `full-date`: YYYY-MM-DD with a month and day that exist.
    static func dateProblem(_ bytes: ArraySlice<UInt8>) -> String? {
        let text = Array(bytes)
        guard text.count == 10, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"),
              let year = number(text[0..<4]), let month = number(text[5..<7]), let day = number(text[8..<10]) else {
            return "the date must be YYYY-MM-DD"
        }
        guard (1...12).contains(month) else { return "month \(month) does not exist" }
        let days = daysIn(month: month, year: year)
        guard (1...days).contains(day) else {
            if month == 2 && day == 29 { return "\(year) is not a leap year" }
            return "day \(day) does not exist in month \(month) (it has \(days) days)"
        }
        return nil
    }

    /// `full-time`: HH:MM:SS, an optional fraction, and Z or a numeric offset.
    static func timeProblem(_ bytes: ArraySlice<UInt8>) -> String? {
        let text = Array(bytes)
        guard text.count >= 8, text[2] == UInt8(ascii: ":"), text[5] == UInt8(ascii: ":"),
              let hour = number(text[0..<2]), let minute = number(text[3..<5]), let second = number(text[6..<8]) else {
            return "the time must be HH:MM:SS followed by Z or an offset such as +08:00"
        }
        guard hour <= 23 else { return "hour \(hour) does not exist" }
        guard minute <= 59 else { return "minute \(minute) does not exist" }
        guard second <= 60 else { return "second \(second) does not exist" }
        var index = 8
        if index < text.count, text[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < text.count, isDigit(text[index]) { index += 1 }
            guard index > fractionStart else { return "the decimal point must be followed by digits" }
        }
        guard index < text.count else { return "the time has no offset: add Z (UTC) or an offset such as +08:00" }
        let offsetMinutes: Int
        switch text[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == text.count else { return "nothing may follow the Z offset" }
            offsetMinutes = 0
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let offset = text[(index + 1)...]
            let offsetText = String(decoding: text[index...], as: UTF8.self)
            guard offset.count == 5, offset[offset.startIndex + 2] == UInt8(ascii: ":"),
                  let offsetHour = number(offset.prefix(2)), let offsetMinute = number(offset.suffix(2)) else {
                return "the offset must be Z or +HH:MM / -HH:MM"
            }
            guard offsetHour <= 23, offsetMinute <= 59 else { return "the offset \(offsetText) does not exist" }
            let sign = text[index] == UInt8(ascii: "+") ? 1 : -1
            offsetMinutes = sign * (offsetHour * 60 + offsetMinute)
        default:
            return "the time has no offset: add Z (UTC) or an offset such as +08:00"
        }
        if second == 60 {
            let minuteOfDayInUTC = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            guard minuteOfDayInUTC == 23 * 60 + 59 else {
                return "second 60 exists only in a leap second, at 23:59:60 UTC"
            }
        }
        return nil
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The decimal value of ASCII digits, or nil if any byte is not a digit.
    static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in digits {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
