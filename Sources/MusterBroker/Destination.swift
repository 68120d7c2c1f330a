/// Where messages go: `/topic/NAME` (every subscription gets every message) or
/// `/queue/NAME` (competing consumers, each message to one).
public struct Destination: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case topic, queue }

    public let kind: Kind
    public let name: String

    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
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
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        let valid = !name.isEmpty && name.utf8.count <= 200 && segments.allSatisfy { segment in
            !segment.isEmpty && segment.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
        }
        guard valid else {
            throw BrokerError(.invalidDestination, "destination '\(text)' has an invalid name; use letters, digits, '-', '_', '.' in '/'-separated segments")
        }
        self.init(kind: kind, name: String(name))
    }

    public var description: String { "/\(kind.rawValue)/\(name)" }

    /// Names beginning `muster.` belong to the broker (queries, replies, dead letters); clients cannot send to them.
    public var isReserved: Bool { name.hasPrefix("muster.") }
}
