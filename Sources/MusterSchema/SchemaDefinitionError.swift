/// Why a schema document cannot be used: unreadable, not JSON, or a keyword that is
/// unknown, unsupported or malformed.
public struct SchemaDefinitionError: Error, Sendable, CustomStringConvertible {
    /// The schema's name, usually its file path.
    public let source: String
    /// RFC 6901 pointer to the offending place in the schema document.
    public let pointer: String
    public let problem: String

    public init(source: String, pointer: String, problem: String) {
        self.source = source
        self.pointer = pointer
        self.problem = problem
    }

    public var description: String {
        "\(source): \(pointer.isEmpty ? "" : "at \(pointer): ")\(problem)"
    }
}
