/// An RFC 6901 JSON Pointer: a path of reference tokens into a JSON document.
///
/// The text form escapes `~` as `~0` and `/` as `~1`; "" is the whole document.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The unescaped reference tokens, outermost first.
    public private(set) var tokens: [String]

    /// The pointer to the whole document.
    public static let root = JSONPointer(tokens: [])

    public init(tokens: [String]) {
        self.tokens = tokens
    }

    /// Parses the text form; nil when it neither is empty nor starts with "/", or holds a
    /// `~` not followed by 0 or 1.
    public init?(_ text: String) {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.hasPrefix("/") else { return nil }
        var tokens: [String] = []
        for escaped in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let token = JSONPointer.unescape(String(escaped)) else { return nil }
            tokens.append(token)
        }
        self.tokens = tokens
    }

    /// The text form, with every token escaped.
    public var description: String {
        tokens.reduce(into: "") { text, token in text += "/" + JSONPointer.escape(token) }
    }

    public func appending(_ token: String) -> JSONPointer {
        JSONPointer(tokens: tokens + [token])
    }

    public func appending(_ index: Int) -> JSONPointer {
        appending(String(index))
    }

    /// Escapes one reference token: `~` becomes `~0`, `/` becomes `~1`.
    public static func escape(_ token: String) -> String {
        guard token.unicodeScalars.contains(where: { $0 == "~" || $0 == "/" }) else { return token }
        var result = ""
        for scalar in token.unicodeScalars {
            switch scalar {
            case "~": result += "~0"
            case "/": result += "~1"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Unescapes one reference token; nil when a `~` is not followed by 0 or 1.
    public static func unescape(_ token: String) -> String? {
        guard token.unicodeScalars.contains("~") else { return token }
        var result = ""
        var afterTilde = false
        for scalar in token.unicodeScalars {
            if afterTilde {
                switch scalar {
                case "0": result += "~"
                case "1": result += "/"
                default: return nil
                }
                afterTilde = false
            } else if scalar == "~" {
                afterTilde = true
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return afterTilde ? nil : result
    }

    /// The value the pointer names inside `document`, or nil when there is none.
    /// Array tokens must be decimal indexes without leading zeros.
    public func resolve(in document: JSONValue) -> JSONValue? {
        var current = document
        for token in tokens {
            switch current {
            case .object(let object):
                guard let child = object[token] else { return nil }
                current = child
            case .array(let elements):
                guard let index = JSONPointer.arrayIndex(token), index < elements.count else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    private static func arrayIndex(_ token: String) -> Int? {
        let digits = token.utf8
        guard let first = digits.first, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        if digits.count > 1 && first == UInt8(ascii: "0") { return nil }
        return Int(token)
    }
}
