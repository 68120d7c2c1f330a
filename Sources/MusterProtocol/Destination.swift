/// Where messages go: `/topic/NAME` (every subscription gets every message) or
/// `/queue/NAME` (competing consumers, each message to one).
public struct Destination: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case topic, queue }

    public let kind: Kind
    public let name: String
    /// `/topic/NAME` or `/queue/NAME`, built once: the log and the routing use it per message.
    public let description: String

    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
        self.description = "/\(kind.rawValue)/\(name)"
    }

    public static func == (lhs: Destination, rhs: Destination) -> Bool {
        lhs.kind == rhs.kind && lhs.name == rhs.name
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(name)
    }

    /// Parses `/topic/NAME` or `/queue/NAME`; NAME is letters, digits, `-`, `_`, `.` and `/` separated segments.
    public init(parsing text: String) throws(BrokerError) {
        let kind: Kind
        let name: Substring
        if text.hasPrefix("/topic/") {
            kind = .topic
            name = text.dropFirst("/topic/".count)
        } else if text.hasPrefix("/queue/") {
            kind = .queue
            name = text.dropFirst("/queue/".count)
        } else {
            throw BrokerError(.invalidDestination, "destination '\(text)' must start with /topic/ or /queue/")
        }
        guard !name.isEmpty, name.utf8.count <= 200, Self.isValidName(name) else {
            throw BrokerError(.invalidDestination, "destination '\(text)' has an invalid name; use letters, digits, '-', '_', '.' in '/'-separated segments")
        }
        self.init(kind: kind, name: String(name))
    }

    /// Non-empty `/`-separated segments of letters, digits, `-`, `_` and `.`. ASCII names (nearly
    /// all) are checked byte by byte; others by Unicode properties.
    static func isValidName(_ name: Substring) -> Bool {
        var previous: UInt8 = UInt8(ascii: "/")
        for byte in name.utf8 {
            if byte >= 0x80 { return isValidUnicodeName(name) }
            switch byte {
            case UInt8(ascii: "/"): if previous == UInt8(ascii: "/") { return false }
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): break
            default: return false
            }
            previous = byte
        }
        return previous != UInt8(ascii: "/")
    }

    private static func isValidUnicodeName(_ name: Substring) -> Bool {
        name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { segment in
            !segment.isEmpty && segment.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
        }
    }

    /// Names beginning `muster.` belong to the broker (queries, replies, dead letters); clients cannot send to them.
    public var isReserved: Bool { name.hasPrefix("muster.") }
}
