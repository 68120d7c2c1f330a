/// One compiled schema (a schema object or `true`/`false`), as an ordered list of checks.
///
/// Subschemas are referred to by their index in `CompiledSchema.nodes`, so `$ref` cycles
/// cost nothing to represent.
struct SchemaNode: Sendable {
    /// Where the schema is in the document, as a JSON Pointer.
    let location: String
    /// The checks in evaluation order (see `SchemaCompiler.evaluationOrder`).
    var checks: [SchemaCheck]
}

/// One keyword, compiled, and where it is written.
struct SchemaCheck: Sendable {
    let keywordLocation: String
    let rule: SchemaRule
}

/// What one keyword demands.
enum SchemaRule: Sendable {
    case never
    case type(JSONTypeSet)
    case enumeration([JSONValue])
    case constant(JSONValue)
    case minimum(Double)
    case exclusiveMinimum(Double)
    case maximum(Double)
    case exclusiveMaximum(Double)
    case multipleOf(Double)
    case minLength(Int)
    case maxLength(Int)
    case pattern(ECMAPattern)
    case format(StringFormat)
    case required([String])
    case minProperties(Int)
    case maxProperties(Int)
    case properties([(name: String, node: Int)])
    case patternProperties([(pattern: ECMAPattern, node: Int)])
    case additionalProperties(AdditionalProperties)
    case minItems(Int)
    case maxItems(Int)
    case prefixItems([Int])
    /// `items`: the schema for elements after the first `after` (the `prefixItems` count).
    case items(node: Int, after: Int, forbidden: Bool)
    case uniqueItems
    case reference(node: Int)
    case allOf([Int])
    case anyOf([Int])
    case oneOf([Int])
    case not(Int)
    case conditional(condition: Int, then: Int?, otherwise: Int?)
}

/// `additionalProperties` with what its siblings declare, since it applies only to
/// properties that neither `properties` nor `patternProperties` covers.
struct AdditionalProperties: Sendable {
    let node: Int
    /// True for `additionalProperties: false`, reported as "property 'x' is not allowed".
    let forbidden: Bool
    let declared: Set<String>
    let declaredInOrder: [String]
    let patterns: [ECMAPattern]

    func covers(_ name: String) -> Bool {
        declared.contains(name) || patterns.contains { $0.matches(name) }
    }
}

/// The `type` keyword's set of JSON Schema types.
struct JSONTypeSet: OptionSet, Sendable {
    let rawValue: Int
    static let null = JSONTypeSet(rawValue: 1)
    static let boolean = JSONTypeSet(rawValue: 2)
    static let object = JSONTypeSet(rawValue: 4)
    static let array = JSONTypeSet(rawValue: 8)
    static let number = JSONTypeSet(rawValue: 16)
    static let string = JSONTypeSet(rawValue: 32)
    static let integer = JSONTypeSet(rawValue: 64)

    static let byName: [(name: String, type: JSONTypeSet, article: String)] = [
        ("object", .object, "an"), ("array", .array, "an"), ("string", .string, "a"), ("integer", .integer, "an"),
        ("number", .number, "a"), ("boolean", .boolean, "a"), ("null", .null, ""),
    ]

    func admits(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return contains(.null)
        case .bool: return contains(.boolean)
        case .object: return contains(.object)
        case .array: return contains(.array)
        case .string: return contains(.string)
        case .number(let number): return contains(.number) || (contains(.integer) && number == number.rounded(.towardZero))
        }
    }

    /// "a string or null", "an integer".
    var phrase: String {
        let names = JSONTypeSet.byName.filter { contains($0.type) }.map { $0.article.isEmpty ? $0.name : "\($0.article) \($0.name)" }
        guard names.count > 1 else { return names.first ?? "nothing" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
