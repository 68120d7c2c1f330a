extension SchemaCompiler {
    /// Refuses a chain of `$ref` and in-place applicators (allOf, anyOf, oneOf, not, if) that
    /// returns to a schema without stepping into the instance: validating it would never end.
    func refuseCyclesThatNeverDescend() throws(SchemaDefinitionError) {
        enum Mark { case unvisited, inProgress, done }
        var marks = Array(repeating: Mark.unvisited, count: nodes.count)
        for start in nodes.indices where marks[start] == .unvisited {
            // Iterative depth-first search: (node, its in-place edges, next edge to follow).
            var stack: [(node: Int, edges: [(target: Int, keywordLocation: String)], next: Int)] = [(start, inPlaceEdges(of: start), 0)]
            marks[start] = .inProgress
            while let top = stack.last {
                guard top.next < top.edges.count else {
                    marks[top.node] = .done
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let edge = top.edges[top.next]
                switch marks[edge.target] {
                case .inProgress:
                    throw SchemaDefinitionError(source: source, pointer: edge.keywordLocation,
                        problem: "this leads back to \(nodes[edge.target].location.isEmpty ? "the root schema" : nodes[edge.target].location) without going into the instance, so validation would never end")
                case .unvisited:
                    marks[edge.target] = .inProgress
                    stack.append((edge.target, inPlaceEdges(of: edge.target), 0))
                case .done:
                    break
                }
            }
        }
    }

    private func inPlaceEdges(of node: Int) -> [(target: Int, keywordLocation: String)] {
        nodes[node].checks.flatMap { check -> [(target: Int, keywordLocation: String)] in
            let targets: [Int]
            switch check.rule {
            case .reference(let target): targets = [target]
            case .allOf(let branches), .anyOf(let branches), .oneOf(let branches): targets = branches
            case .not(let target): targets = [target]
            case .conditional(let condition, let then, let otherwise): targets = [condition] + [then, otherwise].compactMap { $0 }
            default: targets = []
            }
            return targets.map { ($0, check.keywordLocation) }
        }
    }
}
