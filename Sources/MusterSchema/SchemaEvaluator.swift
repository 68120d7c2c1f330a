/// Walks an instance against compiled schema nodes and stops at the first failure.
struct SchemaEvaluator {
    let nodes: [SchemaNode]
    /// The instance location being checked.
    private(set) var path: [InstancePathToken] = []

    init(nodes: [SchemaNode]) {
        self.nodes = nodes
    }

    mutating func validate(_ instance: JSONValue, against node: Int) -> SchemaFailure? {
        for check in nodes[node].checks {
            if let failure = evaluate(check, instance) { return failure }
        }
        return nil
    }

    /// Validates a child value with `token` appended to the path for the duration.
    mutating func validate(_ child: JSONValue, at token: InstancePathToken, against node: Int) -> SchemaFailure? {
        path.append(token)
        defer { path.removeLast() }
        return validate(child, against: node)
    }

    func failure(_ check: SchemaCheck, _ reason: String, at token: InstancePathToken? = nil) -> SchemaFailure {
        SchemaFailure(path: token.map { path + [$0] } ?? path, keywordLocation: check.keywordLocation, reason: reason)
    }

    private mutating func evaluate(_ check: SchemaCheck, _ instance: JSONValue) -> SchemaFailure? {
        switch check.rule {
        case .never:
            return failure(check, "no value is allowed here (the schema is false)")
        case .type(let types):
            guard !types.admits(instance) else { return nil }
            var typeFailure = failure(check, "must be \(types.phrase) (found \(ValueQuote.described(instance)))")
            typeFailure.expectedTypes = types
            return typeFailure
        case .enumeration(let values):
            guard !values.contains(instance) else { return nil }
            let expected = values.count == 1 ? ValueQuote.short(values[0]) : "one of \(ValueQuote.list(values))"
            return failure(check, "must be \(expected) (found \(ValueQuote.short(instance)))")
        case .constant(let value):
            return value == instance ? nil : failure(check, "must be \(ValueQuote.short(value)) (found \(ValueQuote.short(instance)))")
        case .minimum, .exclusiveMinimum, .maximum, .exclusiveMaximum, .multipleOf:
            guard case .number(let number) = instance else { return nil }
            return evaluateNumber(check, number)
        case .minLength, .maxLength, .pattern, .format:
            guard case .string(let string) = instance else { return nil }
            return evaluateString(check, string)
        case .required, .minProperties, .maxProperties, .properties, .patternProperties, .additionalProperties:
            guard case .object(let object) = instance else { return nil }
            return evaluateObject(check, object)
        case .minItems, .maxItems, .prefixItems, .items, .uniqueItems:
            guard case .array(let elements) = instance else { return nil }
            return evaluateArray(check, elements)
        case .reference(let node):
            return validate(instance, against: node)
        case .allOf(let branches):
            for branch in branches {
                if let failure = validate(instance, against: branch) { return failure }
            }
            return nil
        case .anyOf(let branches):
            return evaluateAlternatives(check, branches, instance, exactlyOne: false)
        case .oneOf(let branches):
            return evaluateAlternatives(check, branches, instance, exactlyOne: true)
        case .not(let node):
            guard validate(instance, against: node) == nil else { return nil }
            return failure(check, "must not match the schema at \(nodes[node].location), but does")
        case .conditional(let condition, let then, let otherwise):
            let branch = validate(instance, against: condition) == nil ? then : otherwise
            return branch.flatMap { validate(instance, against: $0) }
        }
    }

    private func evaluateNumber(_ check: SchemaCheck, _ number: Double) -> SchemaFailure? {
        let found = "(found \(ValueQuote.number(number)))"
        switch check.rule {
        case .minimum(let limit) where number < limit:
            return failure(check, "must be at least \(ValueQuote.number(limit)) \(found)")
        case .exclusiveMinimum(let limit) where number <= limit:
            return failure(check, "must be greater than \(ValueQuote.number(limit)) \(found)")
        case .maximum(let limit) where number > limit:
            return failure(check, "must be at most \(ValueQuote.number(limit)) \(found)")
        case .exclusiveMaximum(let limit) where number >= limit:
            return failure(check, "must be less than \(ValueQuote.number(limit)) \(found)")
        case .multipleOf(let divisor) where !SchemaEvaluator.isMultiple(number, of: divisor):
            return failure(check, "must be a multiple of \(ValueQuote.number(divisor)) \(found)")
        default:
            return nil
        }
    }

    /// Whether `number` is a whole multiple of `divisor`, allowing for binary rounding: JSON
    /// numbers are decimal, so 19.99 is a multiple of 0.01 although neither is exact as a Double.
    static func isMultiple(_ number: Double, of divisor: Double) -> Bool {
        let remainder = abs(number.truncatingRemainder(dividingBy: divisor))
        let quotient = abs(number / divisor)
        guard quotient.isFinite else { return remainder == 0 }
        let tolerance = 4 * max(abs(number).ulp, quotient * divisor.ulp)
        return remainder <= tolerance || divisor - remainder <= tolerance
    }

    private func evaluateString(_ check: SchemaCheck, _ string: String) -> SchemaFailure? {
        switch check.rule {
        case .minLength(let minimum):
            let length = string.unicodeScalars.count
            guard length < minimum else { return nil }
            return failure(check, "must be at least \(ValueQuote.count(minimum, "character")) long (found \(length): \(ValueQuote.quoted(string)))")
        case .maxLength(let maximum):
            let length = string.unicodeScalars.count
            guard length > maximum else { return nil }
            return failure(check, "must be at most \(ValueQuote.count(maximum, "character")) long (found \(length): \(ValueQuote.quoted(string)))")
        case .pattern(let pattern):
            guard !pattern.matches(string) else { return nil }
            return failure(check, "must match the pattern \(pattern.source) (found \(ValueQuote.quoted(string)))")
        case .format(let format):
            guard let problem = format.problem(in: string) else { return nil }
            return failure(check, "must be \(format.expectation); found \(ValueQuote.quoted(string)) (\(problem))")
        default:
            return nil
        }
    }
}
