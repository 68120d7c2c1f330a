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
        let (reading, end) = HTTPRequestHead.readWithEnd(bytes)
        switch reading {
        case .incomplete: return .incomplete
        case .invalid(let reason): return .invalid(status: 400, reason: reason)
        case .complete(let head):
            if head.field("transfer-encoding") != nil {
                return .invalid(status: 411, reason: "a request body must come with Content-Length, not Transfer-Encoding")
            }
            guard let lengthText = head.field("content-length") else { return .complete(HTTPRequest(head: head)) }
            guard !lengthText.isEmpty, lengthText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let length = Int(lengthText) else {
                return .invalid(status: 400, reason: "Content-Length '\(lengthText)' is not a number of bytes")
            }
            guard length <= maximumBodyLength else {
                return .invalid(status: 413, reason: "the request body has \(length) bytes; at most \(maximumBodyLength) are read")
            }
            guard bytes.count - end >= length else { return .incomplete }
            return .complete(HTTPRequest(head: head, body: Array(bytes[end..<(end + length)])))
        }
    }
}
