/// Why a byte sequence is not a JSON document, and where.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The zero-based byte offset of the first byte that could not be accepted.
    public let offset: Int
    /// What is wrong there, as a sentence fragment ("duplicate key 'x'").
    public let problem: String

    public init(offset: Int, problem: String) {
        self.offset = offset
        self.problem = problem
    }

    public var description: String { "JSON syntax error at byte \(offset): \(problem)" }
}
