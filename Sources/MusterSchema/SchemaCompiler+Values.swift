/// Reading keyword values, each checked against what draft 2020-12's meta-schema allows.
extension SchemaCompiler {
    func typeSet(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> JSONTypeSet {
        let names: [JSONValue]
        switch value {
        case .string: names = [value]
        case .array(let elements) where !elements.isEmpty: names = elements
        default: throw failure(at: location, "'type' must be a type name or a non-empty array of type names")
        }
        var types: JSONTypeSet = []
        for name in names {
            guard case .string(let text) = name, let entry = JSONTypeSet.byName.first(where: { $0.name == text }) else {
                throw failure(at: location, "unknown type \(ValueQuote.short(name)); the types are \(JSONTypeSet.byName.map(\.name).joined(separator: ", "))")
            }
            guard !types.contains(entry.type) else { throw failure(at: location, "type '\(text)' is listed twice") }
            types.insert(entry.type)
        }
        return types
    }

    func array(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> [JSONValue] {
        guard case .array(let elements) = value else {
            throw failure(at: location, "'\(location.tokens.last ?? "")' must be an array, not \(ValueQuote.described(value))")
        }
        return elements
    }

    func members(of value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> [(key: String, value: JSONValue)] {
        guard case .object(let object) = value else {
            throw failure(at: location, "'\(location.tokens.last ?? "")' must be an object, not \(ValueQuote.described(value))")
        }
        return object.members
    }

    func number(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> Double {
        guard case .number(let number) = value else {
            throw failure(at: location, "'\(location.tokens.last ?? "")' must be a number, not \(ValueQuote.described(value))")
        }
        return number
    }

    /// A non-negative integer (2.0 counts, as draft 2020-12 says).
    func count(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> Int {
        guard case .number(let number) = value, number >= 0, number == number.rounded(), number < Double(Int32.max) else {
            throw failure(at: location, "'\(location.tokens.last ?? "")' must be a non-negative integer, not \(ValueQuote.short(value))")
        }
        return Int(number)
    }

    func boolean(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> Bool {
        guard case .bool(let flag) = value else {
            throw failure(at: location, "'\(location.tokens.last ?? "")' must be true or false, not \(ValueQuote.short(value))")
        }
        return flag
    }

    func uniqueStrings(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> [String] {
        var strings: [String] = []
        for element in try array(value, at: location) {
            guard case .string(let string) = element else {
                throw failure(at: location, "'\(location.tokens.last ?? "")' must list property names as strings, not \(ValueQuote.short(element))")
            }
            guard !strings.contains(string) else { throw failure(at: location, "'\(string)' is listed twice") }
            strings.append(string)
        }
        return strings
    }

    func pattern(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> ECMAPattern {
        guard case .string(let source) = value else {
            throw failure(at: location, "a pattern must be a string, not \(ValueQuote.described(value))")
        }
        do {
            return try ECMAPattern(source)
        } catch {
            throw failure(at: location, "the pattern \(ValueQuote.quoted(source)) cannot be used: \(error.problem)")
        }
    }

    func format(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> StringFormat {
        let supported = StringFormat.allCases.map(\.rawValue).joined(separator: ", ")
        guard case .string(let name) = value, let format = StringFormat(rawValue: name) else {
            throw failure(at: location, "format \(ValueQuote.short(value)) is not supported, so it could not be enforced; the supported formats are \(supported)")
        }
        return format
    }

    func checkAnnotation(_ keyword: String, _ value: JSONValue, at location: JSONPointer, isRoot: Bool) throws(SchemaDefinitionError) {
        switch keyword {
        case "$schema":
            guard isRoot else { throw failure(at: location, "'$schema' belongs at the root of the document only") }
            guard value == .string(SchemaCompiler.draft202012) || value == .string(SchemaCompiler.draft202012 + "#") else {
                throw failure(at: location, "only draft 2020-12 is supported: '$schema' must be \"\(SchemaCompiler.draft202012)\", not \(ValueQuote.short(value))")
            }
        case "$id":
            // A nested $id would change what relative references mean; one document, one base.
            guard isRoot else { throw failure(at: location, "'$id' is supported at the root of the document only") }
            guard case .string = value else { throw failure(at: location, "'$id' must be a string") }
        case "$comment", "title", "description":
            guard case .string = value else { throw failure(at: location, "'\(keyword)' must be a string, not \(ValueQuote.described(value))") }
        case "examples":
            _ = try array(value, at: location)
        case "deprecated", "readOnly", "writeOnly":
            _ = try boolean(value, at: location)
        default:
            break   // "default" may be any value
        }
    }

    /// Resolves a local `$ref` ("#" or "#/json/pointer", percent-encoded as a URI fragment).
    mutating func compileReference(_ value: JSONValue, at location: JSONPointer) throws(SchemaDefinitionError) -> Int {
        guard case .string(let reference) = value else { throw failure(at: location, "'$ref' must be a string") }
        guard reference.hasPrefix("#") else {
            throw failure(at: location, "'\(reference)' is not a local reference; only '#' and '#/json/pointer' references into the same document are supported")
        }
        guard let fragment = SchemaCompiler.percentDecoded(String(reference.dropFirst())) else {
            throw failure(at: location, "'\(reference)' has an invalid percent-encoding")
        }
        guard fragment.isEmpty || fragment.hasPrefix("/") else {
            throw failure(at: location, "'\(reference)' names an anchor; only JSON Pointer references ('#/$defs/name') are supported")
        }
        guard let pointer = JSONPointer(fragment) else { throw failure(at: location, "'\(reference)' is not a valid JSON Pointer") }
        guard let target = pointer.resolve(in: document) else {
            throw failure(at: location, "'\(reference)' points to nothing in this document")
        }
        return try compileSchema(target, at: pointer)
    }

    static func percentDecoded(_ text: String) -> String? {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func unsupportedKeywordProblem(_ keyword: String, value: JSONValue) -> String {
        let hints: [String: String] = [
            "definitions": "use '$defs' (draft 2020-12)",
            "dependencies": "it is not draft 2020-12",
            "additionalItems": "in draft 2020-12 'items' after 'prefixItems' does this",
            "id": "use '$id'",
        ]
        var problem = "keyword '\(keyword)' is not supported, so it could not be enforced"
        if let hint = hints[keyword] {
            problem += "; \(hint)"
        } else if let suggestion = closestKeyword(to: keyword) {
            problem += "; did you mean '\(suggestion)'?"
        }
        return problem
    }

    private static func closestKeyword(to keyword: String) -> String? {
        let known = evaluationOrder + ["$defs", "then", "else"] + annotations.sorted()
        let scored = known.map { ($0, editDistance(Array($0.lowercased()), Array(keyword.lowercased()))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(1, keyword.count / 4) else { return nil }
        return best.0
    }

    private static func editDistance(_ left: [Character], _ right: [Character]) -> Int {
        var previous = Array(0...right.count)
        for (leftIndex, leftCharacter) in left.enumerated() {
            var current = [leftIndex + 1]
            for (rightIndex, rightCharacter) in right.enumerated() {
                current.append(min(previous[rightIndex + 1] + 1, current[rightIndex] + 1,
                                   previous[rightIndex] + (leftCharacter == rightCharacter ? 0 : 1)))
            }
            previous = current
        }
        return previous[right.count]
    }
}
