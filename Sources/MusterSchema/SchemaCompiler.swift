/// Compiles a draft 2020-12 schema document into a `CompiledSchema`, refusing every keyword
/// it cannot enforce so that nothing in a schema is silently ignored.
struct SchemaCompiler {
    /// The order keywords are checked in: type first, then the value's own constraints,
    /// then structure, then the applicators that combine other schemas.
    static let evaluationOrder = [
        "type", "enum", "const",
        "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "format",
        "required", "minProperties", "maxProperties", "properties", "patternProperties", "additionalProperties",
        "minItems", "maxItems", "prefixItems", "items", "uniqueItems",
        "$ref", "allOf", "anyOf", "oneOf", "not", "if",
    ]

    /// Keywords that only describe; they are checked for shape and otherwise ignored.
    static let annotations: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "examples", "default", "deprecated", "readOnly", "writeOnly",
    ]

    static let draft202012 = "https://json-schema.org/draft/2020-12/schema"

    let document: JSONValue
    let source: String
    private(set) var nodes: [SchemaNode] = []
    private var indexByLocation: [JSONPointer: Int] = [:]

    static func compile(_ document: JSONValue, source: String) throws(SchemaDefinitionError) -> CompiledSchema {
        var compiler = SchemaCompiler(document: document, source: source)
        let root = try compiler.compileSchema(document, at: .root)
        try compiler.refuseCyclesThatNeverDescend()
        return CompiledSchema(nodes: compiler.nodes, root: root)
    }

    private init(document: JSONValue, source: String) {
        self.document = document
        self.source = source
    }

    /// Compiles the schema at `location` once; later requests (such as `$ref`s, even from
    /// inside it) get the same node index.
    mutating func compileSchema(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> Int {
        if let index = indexByLocation[location] { return index }
        let index = nodes.count
        nodes.append(SchemaNode(location: location.description, checks: []))
        indexByLocation[location] = index
        switch value {
        case .bool(true):
            break
        case .bool(false):
            nodes[index].checks = [SchemaCheck(keywordLocation: location.description, rule: .never)]
        case .object(let object):
            nodes[index].checks = try compileKeywords(object, at: location)
        default:
            throw failure(at: location, "a schema must be an object or a boolean, not \(ValueQuote.described(value))")
        }
        return index
    }

    private mutating func compileKeywords(_ object: JSONObject, at location: JSONPointer) throws(SchemaDefinitionError) -> [SchemaCheck] {
        var rules: [String: SchemaRule] = [:]
        for (keyword, value) in object.members {
            let keywordLocation = location.appending(keyword)
            if SchemaCompiler.annotations.contains(keyword) {
                try checkAnnotation(keyword, value, at: keywordLocation, isRoot: location.tokens.isEmpty)
                continue
            }
            switch keyword {
            case "$defs":
                for (name, definition) in try members(of: value, at: keywordLocation) {
                    _ = try compileSchema(definition, at: keywordLocation.appending(name))
                }
            case "then", "else":
                guard object["if"] != nil else {
                    throw failure(at: keywordLocation, "'\(keyword)' has no effect without 'if' next to it")
                }
            case "additionalProperties", "items":
                break   // compiled below, once their siblings are known
            default:
                if let rule = try compileRule(keyword, value, in: object, at: keywordLocation) { rules[keyword] = rule }
            }
        }
        if let value = object["additionalProperties"] {
            rules["additionalProperties"] = try compileAdditionalProperties(value, in: object, at: location.appending("additionalProperties"))
        }
        if let value = object["items"] {
            rules["items"] = try compileItems(value, in: object, at: location.appending("items"))
        }
        return SchemaCompiler.evaluationOrder.compactMap { keyword in
            rules[keyword].map { SchemaCheck(keywordLocation: location.appending(keyword).description, rule: $0) }
        }
    }

    /// Compiles one assertion or applicator keyword; nil for `if` without `then` or `else`.
    private mutating func compileRule(_ keyword: String, _ value: JSONValue, in object: JSONObject,
                                      at location: JSONPointer) throws(SchemaDefinitionError) -> SchemaRule? {
        switch keyword {
        case "type": return .type(try typeSet(value, at: location))
        case "enum": return .enumeration(try array(value, at: location))
        case "const": return .constant(value)
        case "minimum": return .minimum(try number(value, at: location))
        case "exclusiveMinimum": return .exclusiveMinimum(try number(value, at: location))
        case "maximum": return .maximum(try number(value, at: location))
        case "exclusiveMaximum": return .exclusiveMaximum(try number(value, at: location))
        case "multipleOf":
            let divisor = try number(value, at: location)
            guard divisor > 0 else { throw failure(at: location, "'multipleOf' must be greater than 0") }
            return .multipleOf(divisor)
        case "minLength": return .minLength(try count(value, at: location))
        case "maxLength": return .maxLength(try count(value, at: location))
        case "pattern": return .pattern(try pattern(value, at: location))
        case "format": return .format(try format(value, at: location))
        case "required": return .required(try uniqueStrings(value, at: location))
        case "minProperties": return .minProperties(try count(value, at: location))
        case "maxProperties": return .maxProperties(try count(value, at: location))
        case "properties":
            var properties: [(name: String, node: Int)] = []
            for (name, schema) in try members(of: value, at: location) {
                properties.append((name, try compileSchema(schema, at: location.appending(name))))
            }
            return .properties(properties)
        case "patternProperties":
            var patterns: [(pattern: ECMAPattern, node: Int)] = []
            for (name, schema) in try members(of: value, at: location) {
                let compiled = try pattern(.string(name), at: location.appending(name))
                patterns.append((compiled, try compileSchema(schema, at: location.appending(name))))
            }
            return .patternProperties(patterns)
        case "minItems": return .minItems(try count(value, at: location))
        case "maxItems": return .maxItems(try count(value, at: location))
        case "prefixItems": return .prefixItems(try schemaArray(value, at: location))
        case "uniqueItems": return try boolean(value, at: location) ? .uniqueItems : nil
        case "$ref": return .reference(node: try compileReference(value, at: location))
        case "allOf": return .allOf(try schemaArray(value, at: location))
        case "anyOf": return .anyOf(try schemaArray(value, at: location))
        case "oneOf": return .oneOf(try schemaArray(value, at: location))
        case "not": return .not(try compileSchema(value, at: location))
        case "if":
            let condition = try compileSchema(value, at: location)
            let parent = JSONPointer(tokens: location.tokens.dropLast())
            let then = try object["then"].map { schema throws(SchemaDefinitionError) in try compileSchema(schema, at: parent.appending("then")) }
            let otherwise = try object["else"].map { schema throws(SchemaDefinitionError) in try compileSchema(schema, at: parent.appending("else")) }
            return then == nil && otherwise == nil ? nil : .conditional(condition: condition, then: then, otherwise: otherwise)
        default:
            throw failure(at: location, SchemaCompiler.unsupportedKeywordProblem(keyword, value: value))
        }
    }

    private mutating func compileAdditionalProperties(_ value: JSONValue, in object: JSONObject,
                                                      at location: JSONPointer) throws(SchemaDefinitionError) -> SchemaRule {
        let node = try compileSchema(value, at: location)
        var declared: [String] = []
        if case .object(let properties)? = object["properties"] { declared = properties.keys }
        var patterns: [ECMAPattern] = []
        if case .object(let patternProperties)? = object["patternProperties"] {
            for name in patternProperties.keys {
                patterns.append(try pattern(.string(name), at: location.appending(name)))
            }
        }
        return .additionalProperties(AdditionalProperties(
            node: node, forbidden: value == .bool(false), declared: Set(declared), declaredInOrder: declared, patterns: patterns))
    }

    private mutating func compileItems(_ value: JSONValue, in object: JSONObject,
                                       at location: JSONPointer) throws(SchemaDefinitionError) -> SchemaRule {
        if case .array = value {
            throw failure(at: location, "in draft 2020-12 'items' is one schema for every element; use 'prefixItems' for a schema per position")
        }
        var prefixCount = 0
        if case .array(let prefix)? = object["prefixItems"] { prefixCount = prefix.count }
        return .items(node: try compileSchema(value, at: location), after: prefixCount, forbidden: value == .bool(false))
    }

    private mutating func schemaArray(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> [Int] {
        let schemas = try array(value, at: location)
        guard !schemas.isEmpty else { throw failure(at: location, "'\(location.tokens.last ?? "")' needs at least one schema") }
        var nodes: [Int] = []
        for (index, schema) in schemas.enumerated() {
            nodes.append(try compileSchema(schema, at: location.appending(index)))
        }
        return nodes
    }

    func failure(at location: JSONPointer, _ problem: String) -> SchemaDefinitionError {
        SchemaDefinitionError(source: source, pointer: location.description, problem: problem)
    }
}
