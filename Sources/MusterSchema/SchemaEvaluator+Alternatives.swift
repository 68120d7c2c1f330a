/// `anyOf` and `oneOf`: when no alternative matches, the reason explains the most helpful one.
///
/// Preference, in order: the alternative whose discriminators (properties fixed by `const`,
/// as in `"kind": {"const": "accept"}`) the instance matches; a summary of the discriminator
/// when every alternative has one and none matches; a summary of the types when every
/// alternative fails on `type`; otherwise the alternative whose failure lies deepest.
extension SchemaEvaluator {
    mutating func evaluateAlternatives(_ check: SchemaCheck, _ branches: [Int], _ instance: JSONValue,
                                       exactlyOne: Bool) -> SchemaFailure? {
        var failures: [SchemaFailure?] = []
        var matched: [Int] = []
        for branch in branches {
            let branchFailure = validate(instance, against: branch)
            failures.append(branchFailure)
            if branchFailure == nil {
                matched.append(branch)
                if !exactlyOne { return nil }
            }
        }
        if matched.count == 1 { return nil }
        let count = "\(branches.count) alternatives"
        if matched.count > 1 {
            let names = matched.map { label(of: $0) }
            return failure(check, "must match exactly one of the \(count) but matches \(names.dropLast().joined(separator: ", ")) and \(names.last!)")
        }
        let branchFailures = failures.map { $0! }
        if let summary = typeSummary(branchFailures) {
            var typeFailure = failure(check, "must be \(summary.phrase) (found \(ValueQuote.described(instance)))")
            typeFailure.expectedTypes = summary
            return typeFailure
        }
        let fixed = branches.map { discriminators(of: $0) }
        if case .object(let object) = instance {
            if let selected = fixed.indices.first(where: { !fixed[$0].isEmpty && fixed[$0].allSatisfy { object[$0.name] == $0.value } }) {
                let selector = fixed[selected].map { "\($0.name) \(ValueQuote.short($0.value))" }.joined(separator: ", ")
                return failure(check, "matches none of the \(count); the one for \(selector) (\(label(of: branches[selected]))) \(describe(branchFailures[selected]))")
            }
            if let summary = discriminatorSummary(fixed, object) {
                return failure(check, "matches none of the \(count): \(summary)")
            }
        }
        let deepest = branchFailures.indices.max { branchFailures[$0].path.count < branchFailures[$1].path.count || ($0 > $1 && branchFailures[$0].path.count == branchFailures[$1].path.count) }!
        return failure(check, "matches none of the \(count); the closest (\(label(of: branches[deepest]))) \(describe(branchFailures[deepest]))")
    }

    /// "fails: reason" when the failure is at the alternative's own location, else "fails at /x: reason".
    private func describe(_ branchFailure: SchemaFailure) -> String {
        branchFailure.path == path ? "fails: \(branchFailure.reason)" : "fails at \(branchFailure.pointer): \(branchFailure.reason)"
    }

    /// An alternative's schema location; for an alternative that is only a `$ref`, its target.
    private func label(of branch: Int) -> String {
        let node = nodes[branch]
        if node.checks.count == 1, case .reference(let target) = node.checks[0].rule { return nodes[target].location }
        return node.location
    }

    /// The union of expected types when every alternative fails on `type` at this location.
    private func typeSummary(_ failures: [SchemaFailure]) -> JSONTypeSet? {
        var union: JSONTypeSet = []
        for branchFailure in failures {
            guard branchFailure.path == path, let types = branchFailure.expectedTypes else { return nil }
            union.formUnion(types)
        }
        return union
    }

    /// When every alternative is told apart by one property, what it must be.
    private func discriminatorSummary(_ discriminators: [[(name: String, value: JSONValue)]], _ object: JSONObject) -> String? {
        guard let name = discriminators.first?.first?.name,
              discriminators.allSatisfy({ $0.contains { $0.name == name } }) else { return nil }
        let values = discriminators.compactMap { $0.first { $0.name == name }?.value }
        let expected = values.count == 1 ? ValueQuote.short(values[0]) : "one of \(ValueQuote.list(values))"
        guard let found = object[name] else { return "property '\(name)' is required to choose one, and must be \(expected)" }
        return "'\(name)' must be \(expected) (found \(ValueQuote.short(found)))"
    }

    /// Properties an alternative fixes with `const` (or a one-value `enum`), looking through
    /// `$ref` and `allOf`.
    func discriminators(of branch: Int) -> [(name: String, value: JSONValue)] {
        var found: [(name: String, value: JSONValue)] = []
        var visited: Set<Int> = []
        var pending = [branch]
        while let node = pending.popLast() {
            guard visited.insert(node).inserted else { continue }
            for check in nodes[node].checks {
                switch check.rule {
                case .reference(let target): pending.append(target)
                case .allOf(let parts): pending.append(contentsOf: parts.reversed())
                case .properties(let properties):
                    for (name, property) in properties {
                        if let value = fixedValue(of: property), !found.contains(where: { $0.name == name }) { found.append((name, value)) }
                    }
                default: break
                }
            }
        }
        return found
    }

    private func fixedValue(of node: Int, depth: Int = 0) -> JSONValue? {
        guard depth < 8 else { return nil }
        for check in nodes[node].checks {
            switch check.rule {
            case .constant(let value): return value
            case .enumeration(let values) where values.count == 1: return values[0]
            case .reference(let target): if let value = fixedValue(of: target, depth: depth + 1) { return value }
            default: continue
            }
        }
        return nil
    }
}
