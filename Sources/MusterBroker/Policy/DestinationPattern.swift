public import MusterProtocol
/// A destination name or pattern of the topic configuration. `*` matches any characters
/// except `/` (at least one), `**` matches anything (at least one character), and `{party}`
/// matches one party id (no `.` or `/`) and binds it, so that `/queue/inbox.{party}` names
/// every party's inbox.
public struct DestinationPattern: Sendable, Equatable, CustomStringConvertible {
    enum Piece: Sendable, Equatable {
        case literal([UInt8])
        case segmentWildcard
        case anyWildcard
        case party
    }

    public let text: String
    let pieces: [Piece]

    public init(_ text: String) throws(BrokerError) {
        guard text.hasPrefix("/topic/") || text.hasPrefix("/queue/") else {
            throw BrokerError(.invalidDestination, "pattern '\(text)' must start with /topic/ or /queue/")
        }
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        func flush() { if !literal.isEmpty { pieces.append(.literal(literal)); literal = [] } }
        while let byte = bytes.first {
            if byte == UInt8(ascii: "*") {
                flush()
                if bytes.starts(with: "**".utf8) { pieces.append(.anyWildcard); bytes = bytes.dropFirst(2) } else { pieces.append(.segmentWildcard); bytes = bytes.dropFirst() }
            } else if bytes.starts(with: "{party}".utf8) {
                flush()
                pieces.append(.party)
                bytes = bytes.dropFirst("{party}".utf8.count)
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") {
                throw BrokerError(.invalidDestination, "pattern '\(text)': the only placeholder is {party}")
            } else {
                literal.append(byte)
                bytes = bytes.dropFirst()
            }
        }
        flush()
        self.text = text
        self.pieces = pieces
    }

    public var description: String { text }
    public var isExact: Bool { pieces.allSatisfy { if case .literal = $0 { true } else { false } } }

    /// Whether `destination` matches; if it does, the party id `{party}` bound (if any).
    public func match(_ destination: Destination) -> (matched: Bool, party: String?) {
        let name = Array(destination.description.utf8)
        var bound: String?
        let matched = Self.match(pieces[...], name[...], bound: &bound)
        return (matched, matched ? bound : nil)
    }

    public func matches(_ destination: Destination) -> Bool { match(destination).matched }

    private static func match(_ pieces: ArraySlice<Piece>, _ name: ArraySlice<UInt8>, bound: inout String?) -> Bool {
        guard let piece = pieces.first else { return name.isEmpty }
        let rest = pieces.dropFirst()
        switch piece {
        case .literal(let bytes):
            return name.starts(with: bytes) && match(rest, name.dropFirst(bytes.count), bound: &bound)
        case .segmentWildcard, .anyWildcard, .party:
            var length = 1
            while length <= name.count {
                let character = name[name.startIndex + length - 1]
                if character == UInt8(ascii: "/"), piece != .anyWildcard { return false }
                if character == UInt8(ascii: "."), piece == .party { return false }
                if match(rest, name.dropFirst(length), bound: &bound) {
                    if piece == .party { bound = String(decoding: name.prefix(length), as: UTF8.self) }
                    return true
                }
                length += 1
            }
            return false
        }
    }
}
