/// A failure found during validation, kept cheap until it becomes a `SchemaViolation`.
struct SchemaFailure {
    /// Where in the instance, as unescaped tokens.
    let path: [InstancePathToken]
    let keywordLocation: String
    let reason: String
    /// Set when the failing keyword is `type`, so failing alternatives can be summed up.
    var expectedTypes: JSONTypeSet? = nil

    var pointer: String { InstancePathToken.pointer(path) }

    var violation: SchemaViolation {
        SchemaViolation(pointer: pointer, keywordLocation: keywordLocation, reason: reason)
    }
}

/// One step into an instance: an object member or an array element.
enum InstancePathToken: Equatable {
    case key(String)
    case index(Int)

    static func pointer(_ path: [InstancePathToken]) -> String {
        var text = ""
        for token in path {
            switch token {
            case .key(let key): text += "/" + JSONPointer.escape(key)
            case .index(let index): text += "/\(index)"
            }
        }
        return text
    }
}
