import Testing
@testable import MusterSchema

/// Compiles schema text written in a test.
func compileSchema(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONSchema {
    try JSONSchema(compiling: JSONParser.parse(text), source: "test.schema.json")
}

/// Expects every instance (JSON text) to be valid against the schema.
func expectValid(_ schema: JSONSchema, _ instances: String..., sourceLocation: SourceLocation = #_sourceLocation) throws {
    for instance in instances {
        let violation = schema.validate(try JSONParser.parse(instance))
        #expect(violation == nil, "\(instance) should be valid", sourceLocation: sourceLocation)
    }
}

/// Expects the instance (JSON text) to fail exactly at `pointer`, on the keyword at
/// `keyword`, and with `reason` when given.
func expectViolation(_ schema: JSONSchema, _ instance: String, pointer: String, keyword: String, reason: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
    let violation = try #require(schema.validate(try JSONParser.parse(instance)), "\(instance) should be invalid", sourceLocation: sourceLocation)
    #expect(violation.pointer == pointer, sourceLocation: sourceLocation)
    #expect(violation.keywordLocation == keyword, sourceLocation: sourceLocation)
    if let reason { #expect(violation.reason == reason, sourceLocation: sourceLocation) }
}

/// Expects compiling the schema text to fail at `pointer` with a problem containing `problem`.
func expectDefinitionError(_ text: String, pointer: String, problem: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let document = try JSONParser.parse(text)
    do {
        _ = try JSONSchema(compiling: document, source: "test.schema.json")
        Issue.record("\(text) should not compile", sourceLocation: sourceLocation)
    } catch {
        #expect(error.source == "test.schema.json", sourceLocation: sourceLocation)
        #expect(error.pointer == pointer, sourceLocation: sourceLocation)
        #expect(error.problem.contains(problem), "\(error.problem)", sourceLocation: sourceLocation)
    }
}
