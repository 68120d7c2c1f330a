/// One STOMP frame: command, headers and raw body bytes.
public struct StompFrame: Sendable, Equatable {
    public var command: StompCommand
    public var headers: StompHeaders
    public var body: [UInt8]

    public init(_ command: StompCommand, headers: StompHeaders = [:], body: [UInt8] = []) {
        self.command = command
        self.headers = headers
        self.body = body
    }

    /// A frame whose body is `text` encoded as UTF-8.
    public init(_ command: StompCommand, headers: StompHeaders = [:], text: String) {
        self.init(command, headers: headers, body: Array(text.utf8))
    }

    /// The body decoded as UTF-8; invalid sequences become U+FFFD instead of failing.
    public var bodyText: String {
        String(decoding: body, as: UTF8.self)
    }
}
