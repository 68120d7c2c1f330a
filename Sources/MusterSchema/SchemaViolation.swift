/// The first way an instance fails its schema.
public struct SchemaViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// RFC 6901 pointer to the failing value in the instance ("" is the whole document). For a
    /// missing required property it is the parent object's pointer plus the property name.
    public let pointer: String
    /// RFC 6901 pointer to the failing keyword in the schema document, where it is written
    /// (a keyword reached through `$ref` is located in the `$defs` it lives in).
    public let keywordLocation: String
    /// A sentence for people: what was expected, and what was found.
    public let reason: String

    public init(pointer: String, keywordLocation: String, reason: String) {
        self.pointer = pointer
        self.keywordLocation = keywordLocation
        self.reason = reason
    }

    public var description: String {
        "\(pointer.isEmpty ? "(document)" : pointer): \(reason) [schema \(keywordLocation.isEmpty ? "#" : keywordLocation)]"
    }
}
