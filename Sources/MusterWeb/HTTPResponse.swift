/// An HTTP/1.1 response the endpoint sends, then closes the connection.
public struct HTTPResponse: Sendable, Equatable {
    public let status: Int
    public let reason: String
    public let contentType: String
    public let body: [UInt8]

    public init(status: Int, reason: String, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.reason = reason
        self.contentType = contentType
        self.body = body
    }

    public init(status: Int, reason: String, text: String) {
        self.init(status: status, reason: reason, body: Array(text.utf8))
    }

    public var encoded: [UInt8] {
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}
