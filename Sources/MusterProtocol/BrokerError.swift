/// A refusal with its catalogue code and a message naming what was wrong.
public struct BrokerError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message). \(code.advice)" }
}
