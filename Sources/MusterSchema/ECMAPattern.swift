import Foundation

/// A `pattern` regular expression with ECMA-262 meaning, run by ICU (NSRegularExpression).
///
/// ICU and ECMA-262 disagree in a few places that matter for validation, so the source is
/// rewritten before compiling: `\d` and `\w` (and `\b`) are ASCII-only as in ECMA-262, `\s`
/// and `.` use ECMA-262's whitespace and line terminators, and `$` matches only at the very
/// end (ICU, like Python, also matches before a final newline).
/// ICU-only syntax that ECMA-262 lacks (inline flags, possessive quantifiers, `\A`, `\z`...)
/// is refused so a schema means the same in every validator.
final class ECMAPattern: Sendable {
    let source: String
    private let expression: NSRegularExpression

    init(_ source: String) throws(ECMAPatternError) {
        self.source = source
        let translated = try ECMAPattern.translate(source)
        do {
            expression = try NSRegularExpression(pattern: translated)
        } catch {
            throw ECMAPatternError(problem: "it is not a valid regular expression")
        }
    }

    /// True when the pattern matches anywhere in `string` (patterns are not anchored).
    func matches(_ string: String) -> Bool {
        let range = NSRange(location: 0, length: string.utf16.count)
        return expression.firstMatch(in: string, options: [], range: range) != nil
    }

    private static let word = "A-Za-z0-9_"
    /// ECMA-262 WhiteSpace and LineTerminator; ICU's \s lacks vertical tab and U+FEFF.
    private static let space = "\\t\\x{B}\\f\\x{FEFF}\\p{Zs}\\n\\r\\x{2028}\\x{2029}"
    private static let notDigit = "\\x{0}-\\x{2F}\\x{3A}-\\x{10FFFF}"
    private static let notWord = "\\x{0}-\\x{2F}\\x{3A}-\\x{40}\\x{5B}-\\x{5E}\\x{60}\\x{7B}-\\x{10FFFF}"
    private static let unsupportedEscapes: Set<Character> = ["A", "Z", "z", "Q", "E", "G", "R", "X", "h", "H", "N", "K"]

    static func translate(_ source: String) throws(ECMAPatternError) -> String {
        var result = ""
        var inClass = false
        var characters = Array(source)[...]
        var previous: Character? = nil
        while let character = characters.popFirst() {
            defer { previous = character }
            switch character {
            case "\\":
                guard let escaped = characters.popFirst() else { throw ECMAPatternError(problem: "it ends with a lone backslash") }
                if unsupportedEscapes.contains(escaped) {
                    throw ECMAPatternError(problem: "'\\\(escaped)' is not ECMA-262 regular expression syntax")
                }
                switch (escaped, inClass) {
                case ("d", false): result += "[0-9]"
                case ("d", true): result += "0-9"
                case ("D", false): result += "[^0-9]"
                case ("D", true): result += notDigit
                case ("w", false): result += "[\(word)]"
                case ("w", true): result += word
                case ("W", false): result += "[^\(word)]"
                case ("W", true): result += notWord
                case ("b", false): result += "(?:(?<=[\(word)])(?![\(word)])|(?<![\(word)])(?=[\(word)]))"
                case ("B", false): result += "(?:(?<=[\(word)])(?=[\(word)])|(?<![\(word)])(?![\(word)]))"
                case ("b", true): result += "\\x{8}"
                case ("s", false): result += "[\(space)]"
                case ("s", true): result += space
                case ("S", false): result += "[^\(space)]"
                default: result += "\\\(escaped)"
                }
                continue
            case "[" where !inClass:
                if characters.starts(with: "^]") {
                    characters.removeFirst(2)
                    result += "[\\x{0}-\\x{10FFFF}]"   // ECMA-262 [^] is any character
                    continue
                }
                if characters.first == "]" {
                    characters.removeFirst()
                    result += "(?!)"   // ECMA-262 [] matches nothing
                    continue
                }
                inClass = true
                result.append(character)
                if characters.first == "^" { result.append(characters.removeFirst()) }
                continue
            case "]" where inClass:
                inClass = false
            case "." where !inClass:
                // ICU's dot also stops at vertical tab, form feed and U+0085; ECMA-262's does not.
                result += "[^\\n\\r\\x{2028}\\x{2029}]"
                continue
            case "$" where !inClass:
                result += "(?![\\s\\S])"
                continue
            case "(" where !inClass && characters.first == "?":
                let next = characters.dropFirst().first
                let lookbehindOrName = next == "<"
                guard next == ":" || next == "=" || next == "!" || lookbehindOrName else {
                    throw ECMAPatternError(problem: "'(?\(next.map(String.init) ?? "")' is not ECMA-262 regular expression syntax")
                }
            case "+" where !inClass && ["*", "+", "?", "}"].contains(previous):
                throw ECMAPatternError(problem: "possessive quantifiers such as '\(previous!)+' are not ECMA-262 regular expression syntax")
            default:
                break
            }
            result.append(character)
        }
        return result
    }
}

/// Why a `pattern` cannot be compiled.
struct ECMAPatternError: Error, Sendable, Equatable {
    let problem: String
}
