/// A schema document compiled into a flat table of nodes, ready to validate many instances.
struct CompiledSchema: Sendable {
    let nodes: [SchemaNode]
    let root: Int
}
