import Foundation

/// A compiled JSON Schema (draft 2020-12), ready to validate many instances.
///
/// Only the keywords this validator enforces are accepted; any other keyword, an unknown
/// `format`, a non-local `$ref` or an invalid `pattern` is refused when compiling, so a
/// schema never silently checks less than it says.
public struct JSONSchema: Sendable {
    /// Names the schema in errors (a file path).
    public let source: String
    public let title: String?
    /// The root `examples` array (each should be valid).
    public let examples: [JSONValue]
    private let compiled: CompiledSchema

    /// Compiles a schema document; `source` names it in errors (a file path).
    public init(compiling document: JSONValue, source: String) throws(SchemaDefinitionError) {
        self.source = source
        compiled = try SchemaCompiler.compile(document, source: source)
        if case .string(let title)? = document["title"] { self.title = title } else { title = nil }
        if case .array(let examples)? = document["examples"] { self.examples = examples } else { examples = [] }
    }

    /// Reads, parses and compiles the schema file at `path`.
    public init(contentsOfFile path: String) throws(SchemaDefinitionError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SchemaDefinitionError(source: path, pointer: "", problem: "the file cannot be read")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(data)
        } catch {
            throw SchemaDefinitionError(source: path, pointer: "", problem: "the file is not JSON: \(error.problem) at byte \(error.offset)")
        }
        try self.init(compiling: document, source: path)
    }

    /// nil when valid, else the first failure.
    public func validate(_ instance: JSONValue) -> SchemaViolation? {
        var evaluator = SchemaEvaluator(nodes: compiled.nodes)
        return evaluator.validate(instance, against: compiled.root)?.violation
    }

    /// Parses the body as JSON (a syntax error is a violation at pointer "" saying the body is
    /// not JSON, with the byte offset) then validates.
    public func validate(body: some Collection<UInt8>) -> SchemaViolation? {
        do {
            return validate(try JSONParser.parse(body))
        } catch {
            return SchemaViolation(pointer: "", keywordLocation: "",
                                   reason: "the body is not JSON: \(error.problem) at byte \(error.offset)")
        }
    }
}
