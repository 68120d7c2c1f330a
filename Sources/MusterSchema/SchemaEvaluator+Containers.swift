extension SchemaEvaluator {
    mutating func evaluateObject(_ check: SchemaCheck, _ object: JSONObject) -> SchemaFailure? {
        switch check.rule {
        case .required(let names):
            guard let missing = names.first(where: { object[$0] == nil }) else { return nil }
            return failure(check, "property '\(missing)' is required but missing", at: .key(missing))
        case .minProperties(let minimum) where object.count < minimum:
            return failure(check, "must have at least \(ValueQuote.count(minimum, "property", plural: "properties")) (found \(object.count))")
        case .maxProperties(let maximum) where object.count > maximum:
            return failure(check, "must have at most \(ValueQuote.count(maximum, "property", plural: "properties")) (found \(object.count))")
        case .properties(let properties):
            for (name, node) in properties {
                guard let value = object[name] else { continue }
                if let failure = validate(value, at: .key(name), against: node) { return failure }
            }
            return nil
        case .patternProperties(let patterns):
            for (name, value) in object.members {
                for (pattern, node) in patterns where pattern.matches(name) {
                    if let failure = validate(value, at: .key(name), against: node) { return failure }
                }
            }
            return nil
        case .additionalProperties(let additional):
            for (name, value) in object.members where !additional.covers(name) {
                if additional.forbidden {
                    return failure(check, "property '\(name)' is not allowed\(SchemaEvaluator.allowedNames(additional))", at: .key(name))
                }
                if let failure = validate(value, at: .key(name), against: additional.node) { return failure }
            }
            return nil
        default:
            return nil
        }
    }

    private static func allowedNames(_ additional: AdditionalProperties) -> String {
        var allowed: [String] = []
        if !additional.declaredInOrder.isEmpty { allowed.append(ValueQuote.names(additional.declaredInOrder)) }
        if !additional.patterns.isEmpty {
            allowed.append("names matching " + additional.patterns.map(\.source).joined(separator: " or "))
        }
        return allowed.isEmpty ? " (no properties are allowed here)" : " (allowed: \(allowed.joined(separator: ", and ")))"
    }

    mutating func evaluateArray(_ check: SchemaCheck, _ elements: [JSONValue]) -> SchemaFailure? {
        switch check.rule {
        case .minItems(let minimum) where elements.count < minimum:
            return failure(check, "must have at least \(ValueQuote.count(minimum, "item")) (found \(elements.count))")
        case .maxItems(let maximum) where elements.count > maximum:
            return failure(check, "must have at most \(ValueQuote.count(maximum, "item")) (found \(elements.count))")
        case .prefixItems(let nodes):
            for (index, node) in zip(elements.indices, nodes) {
                if let failure = validate(elements[index], at: .index(index), against: node) { return failure }
            }
            return nil
        case .items(let node, let after, let forbidden):
            guard elements.count > after else { return nil }
            if forbidden {
                let expected = after == 0 ? "must be empty" : "must have at most \(ValueQuote.count(after, "item")) (those 'prefixItems' describes)"
                return failure(check, "\(expected) (found \(elements.count))")
            }
            for index in after..<elements.count {
                if let failure = validate(elements[index], at: .index(index), against: node) { return failure }
            }
            return nil
        case .uniqueItems:
            var firstIndex: [JSONValue: Int] = [:]
            for (index, element) in elements.enumerated() {
                if let earlier = firstIndex.updateValue(index, forKey: element) {
                    return failure(check, "must not repeat items, but items \(earlier) and \(index) are both \(ValueQuote.short(element))")
                }
            }
            return nil
        default:
            return nil
        }
    }
}
