/// An HTTP/1.1 response the endpoint sends, then closes the connection.
public struct HTTPResponse: Sendable, Equatable {
    public let status: Int
    public let reason: String
    public let contentType: String
    public let body: [UInt8]
    /// More header lines (`Allow: GET`).
    public let extraFields: [String]

    public init(status: Int, reason: String, contentType: String = "text/plain; charset=utf-8", body: [UInt8], extraFields: [String] = []) {
        self.extraFields = extraFields
        self.status = status
        self.reason = reason
        self.contentType = contentType
        self.body = body
    }

    public init(status: Int, reason: String, text: String, extraFields: [String] = []) {
        self.init(status: status, reason: reason, body: Array(text.utf8), extraFields: extraFields)
    }

    public var encoded: [UInt8] {
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n" + extraFields.map { $0 + "\r\n" }.joined() + "\r\n"
        return Array(head.utf8) + body
    }
}
