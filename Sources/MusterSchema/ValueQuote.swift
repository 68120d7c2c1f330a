/// Short renderings of instance values for violation reasons.
enum ValueQuote {
    /// Longer renderings are cut to this many characters.
    static let limit = 60

    /// The value as JSON text, cut short with "…" when long: `"dispach"`, `42`, `{"a":1,…`.
    static func short(_ value: JSONValue) -> String {
        if case .string(let string) = value { return quoted(string) }
        return truncated(value.jsonText)
    }

    /// A string as a JSON string literal, cut short inside the quotes when long.
    static func quoted(_ string: String) -> String {
        let scalars = string.unicodeScalars
        guard scalars.count > limit else { return JSONValue.string(string).jsonText }
        let prefix = String(String.UnicodeScalarView(scalars.prefix(limit - 1)))
        return String(JSONValue.string(prefix).jsonText.dropLast()) + "…\""
    }

    /// The value with its kind, for type mismatches: `the number 1.5`, `an object with 2 properties`.
    static func described(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number: return "the number \(short(value))"
        case .string: return "the string \(short(value))"
        case .array(let elements): return elements.isEmpty ? "an empty array" : "an array of \(count(elements.count, "item"))"
        case .object(let object): return object.isEmpty ? "an empty object" : "an object with \(count(object.count, "property", plural: "properties"))"
        }
    }

    /// A list of values joined with commas, cut after ten.
    static func list(_ values: [JSONValue]) -> String {
        let shown = values.prefix(10).map(short).joined(separator: ", ")
        return values.count > 10 ? shown + ", … (\(values.count) in all)" : shown
    }

    /// Names in single quotes joined with commas, cut after ten.
    static func names(_ names: [String]) -> String {
        let shown = names.prefix(10).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > 10 ? shown + ", … (\(names.count) in all)" : shown
    }

    static func count(_ number: Int, _ noun: String, plural: String? = nil) -> String {
        "\(number) \(number == 1 ? noun : plural ?? noun + "s")"
    }

    static func number(_ number: Double) -> String { JSONValue.numberText(number) }

    private static func truncated(_ text: String) -> String {
        text.unicodeScalars.count > limit ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit - 1))) + "…" : text
    }
}
