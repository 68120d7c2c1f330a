/// The head of an HTTP/1.x request (request line and header fields), read as a pure function of
/// the bytes received so far. A body, if any, is read by `HTTPRequest`.
public struct HTTPRequestHead: Sendable, Equatable {
    public let method: String
    /// The request target without its query string.
    public let path: String
    /// What followed `?` in the request target (still percent-encoded), or "".
    public let query: String
    public let version: String
    /// Field names lower-cased, in order.
    public let fields: [(name: String, value: String)]

    public init(method: String, path: String, query: String = "", version: String, fields: [(name: String, value: String)]) {
        self.method = method
        self.path = path
        self.query = query
        self.version = version
        self.fields = fields
    }

    public static func == (lhs: HTTPRequestHead, rhs: HTTPRequestHead) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.query == rhs.query && lhs.version == rhs.version
            && lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The first field named `name` (lower case).
    public func field(_ name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    public enum Reading: Sendable, Equatable {
        case complete(HTTPRequestHead)
        /// More bytes are needed.
        case incomplete
        /// Not an HTTP/1.x request head this server reads; the reason goes in the 400 response.
        case invalid(String)
    }

    /// A head longer than this is refused (a scrape's is a few hundred bytes).
    public static let maximumLength = 8_192

    /// Reads the head at the start of `bytes` (ended by an empty line, CRLF or LF).
    public static func read(_ bytes: [UInt8]) -> Reading {
        readWithEnd(bytes).reading
    }

    /// The reading, and where the head ended (the body's first byte) when it is complete. The
    /// empty line that ends the head is looked for from `scannedBefore` (less the 2 bytes a line
    /// end may have left unfinished): a reader need not scan again what it scanned before.
    static func readWithEnd(_ bytes: [UInt8], scannedBefore: Int = 0) -> (reading: Reading, end: Int) {
        guard let end = headEnd(bytes, from: max(0, scannedBefore - 2)) else { return (readIncomplete(bytes), 0) }
        return (readHead(bytes, end: end), end)
    }

    private static func readIncomplete(_ bytes: [UInt8]) -> Reading {
        bytes.count > maximumLength ? .invalid("the request head is longer than \(maximumLength) bytes") : .incomplete
    }

    private static func readHead(_ bytes: [UInt8], end: Int) -> Reading {
        guard end <= maximumLength else { return .invalid("the request head is longer than \(maximumLength) bytes") }
        guard let text = String(validating: bytes[..<end], as: UTF8.self) else { return .invalid("the request head is not UTF-8") }
        // "\r\n" is one Character in Swift: both line ends are separators.
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { return .invalid("the request line is missing") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].hasPrefix("/"), parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else {
            return .invalid("the request line must be METHOD /PATH HTTP/1.1")
        }
        var fields: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon > line.startIndex else { return .invalid("a header field without a name: \(line)") }
            let name = line[..<colon]
            guard !name.contains(" ") else { return .invalid("a header field name with a space: \(name)") }
            fields.append((name.lowercased(), line[line.index(after: colon)...].trimmingSpaces()))
        }
        let target = parts[1]
        let question = target.firstIndex(of: "?")
        let path = question.map { String(target[..<$0]) } ?? String(target)
        let query = question.map { String(target[target.index(after: $0)...]) } ?? ""
        return .complete(HTTPRequestHead(method: String(parts[0]), path: path, query: query, version: String(parts[2]), fields: fields))
    }

    /// The index just past the empty line that ends the head.
    private static func headEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { return index + 2 }
                if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "\r"), bytes[index + 2] == UInt8(ascii: "\n") { return index + 3 }
            }
            index += 1
        }
        return nil
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
