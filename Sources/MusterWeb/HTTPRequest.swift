/// A whole HTTP/1.x request: its head and, when `Content-Length` announces one, its body. Read
/// as a pure function of the bytes received so far; the board's forms are small, so a body over
/// `maximumBodyLength` is refused rather than read.
public struct HTTPRequest: Sendable, Equatable {
    public let head: HTTPRequestHead
    public let body: [UInt8]

    public init(head: HTTPRequestHead, body: [UInt8] = []) {
        self.head = head
        self.body = body
    }

    public enum Reading: Sendable, Equatable {
        case complete(HTTPRequest)
        case incomplete
        /// The status to answer (400, 411, 413) and why.
        case invalid(status: Int, reason: String)
    }

    public static let maximumBodyLength = 65_536

    public static func read(_ bytes: [UInt8]) -> Reading {
        var reader = Reader()
        return reader.append(bytes)
    }

    /// Reads a request as its bytes arrive: the head is parsed once, when its end has arrived,
    /// then only the body's length is awaited (a body sent a byte at a time costs no re-parsing).
    public struct Reader: Sendable {
        private var received: [UInt8] = []
        /// The head, once read, with where the body starts and how long it is.
        private(set) var head: (head: HTTPRequestHead, bodyStart: Int, length: Int)?

        public init() {}

        /// The head, as soon as it is complete (the body may still be on its way).
        public var completeHead: HTTPRequestHead? { head?.head }

        public mutating func append(_ bytes: some Sequence<UInt8>) -> Reading {
            let scanned = received.count
            received.append(contentsOf: bytes)
            if head == nil {
                let (reading, end) = HTTPRequestHead.readWithEnd(received, scannedBefore: scanned)
                switch reading {
                case .incomplete: return .incomplete
                case .invalid(let reason): return .invalid(status: 400, reason: reason)
                case .complete(let parsed):
                    switch Self.bodyLength(of: parsed) {
                    case .failure(let invalid): return invalid
                    case .success(let length): head = (parsed, end, length)
                    }
                }
            }
            guard let (parsed, start, length) = head else { return .incomplete }
            guard received.count - start >= length else { return .incomplete }
            return .complete(HTTPRequest(head: parsed, body: Array(received[start..<(start + length)])))
        }

        private static func bodyLength(of head: HTTPRequestHead) -> Result<Int, Reading> {
            if head.field("transfer-encoding") != nil {
                return .failure(.invalid(status: 411, reason: "a request body must come with Content-Length, not Transfer-Encoding"))
            }
            let lengths = Set(head.fields.filter { $0.name == "content-length" }.map(\.value))
            guard let lengthText = lengths.first else { return .success(0) }
            guard lengths.count == 1 else { return .failure(.invalid(status: 400, reason: "the request has Content-Length fields that differ")) }
            guard !lengthText.isEmpty, lengthText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let length = Int(lengthText) else {
                return .failure(.invalid(status: 400, reason: "Content-Length '\(lengthText)' is not a number of bytes"))
            }
            guard length <= maximumBodyLength else {
                return .failure(.invalid(status: 413, reason: "the request body has \(length) bytes; at most \(maximumBodyLength) are read"))
            }
            return .success(length)
        }
    }
}

extension HTTPRequest.Reading: Error {}
