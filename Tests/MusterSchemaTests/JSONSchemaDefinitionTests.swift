import Foundation
import Testing
@testable import MusterSchema

/// Schemas that cannot be enforced as written are refused when compiled, naming the place.
@Suite("JSON Schema definitions")
struct JSONSchemaDefinitionTests {
    @Test func refusesUnknownKeywordsAndSuggestsTheIntendedOne() throws {
        try expectDefinitionError(#"{"properties": {"a": {"minimun": 1}}}"#, pointer: "/properties/a/minimun",
                                  problem: "keyword 'minimun' is not supported, so it could not be enforced; did you mean 'minimum'?")
        try expectDefinitionError(#"{"definitions": {}}"#, pointer: "/definitions", problem: "use '$defs'")
    }

    @Test(arguments: ["contains", "unevaluatedProperties", "dependentRequired", "propertyNames", "$anchor", "$dynamicRef", "contentMediaType", "nullable"])
    func refusesKeywordsItDoesNotEnforce(keyword: String) throws {
        try expectDefinitionError(#"{"\#(keyword)": {}}"#, pointer: "/" + keyword, problem: "keyword '\(keyword)' is not supported")
    }

    @Test func refusesReferencesItCannotResolve() throws {
        try expectDefinitionError(#"{"$ref": "other.schema.json#/$defs/a"}"#, pointer: "/$ref", problem: "is not a local reference")
        try expectDefinitionError(#"{"$ref": "https://json-schema.org/draft/2020-12/schema"}"#, pointer: "/$ref", problem: "is not a local reference")
        try expectDefinitionError(##"{"items": {"$ref": "#/$defs/missing"}, "$defs": {}}"##, pointer: "/items/$ref",
                                  problem: "'#/$defs/missing' points to nothing in this document")
        try expectDefinitionError(##"{"$ref": "#task"}"##, pointer: "/$ref", problem: "names an anchor")
        try expectDefinitionError(##"{"$ref": "#/$defs/a~2"}"##, pointer: "/$ref", problem: "is not a valid JSON Pointer")
        try expectDefinitionError(##"{"$ref": "#/$defs/a", "$defs": {"a": 4}}"##, pointer: "/$defs/a", problem: "a schema must be an object or a boolean")
    }

    @Test func refusesReferenceCyclesThatNeverReachTheInstance() throws {
        try expectDefinitionError(##"{"$ref": "#"}"##, pointer: "/$ref", problem: "leads back to the root schema")
        try expectDefinitionError(##"{"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"anyOf": [{"not": {"$ref": "#/$defs/a"}}]}}}"##,
                                  pointer: "/$defs/b/anyOf/0/not/$ref", problem: "leads back to /$defs/a")
    }

    @Test func refusesPatternsThatAreNotECMA262() throws {
        try expectDefinitionError(#"{"pattern": "[a-"}"#, pointer: "/pattern", problem: "it is not a valid regular expression")
        try expectDefinitionError(#"{"pattern": "(?i)abc"}"#, pointer: "/pattern", problem: "'(?i' is not ECMA-262")
        try expectDefinitionError(#"{"pattern": "a++"}"#, pointer: "/pattern", problem: "possessive quantifiers")
        try expectDefinitionError(#"{"pattern": "\\Aabc"}"#, pointer: "/pattern", problem: "'\\A' is not ECMA-262")
        try expectDefinitionError(#"{"patternProperties": {"(": {}}}"#, pointer: "/patternProperties/(", problem: "not a valid regular expression")
    }

    @Test func refusesFormatsItDoesNotCheck() throws {
        try expectDefinitionError(#"{"format": "hostname"}"#, pointer: "/format",
                                  problem: "format \"hostname\" is not supported, so it could not be enforced; the supported formats are date-time, date, time, duration, uri, email")
    }

    @Test func acceptsOnlyDraft202012() throws {
        try expectDefinitionError(#"{"$schema": "http://json-schema.org/draft-07/schema#"}"#, pointer: "/$schema", problem: "only draft 2020-12 is supported")
        try expectDefinitionError(#"{"properties": {"a": {"$schema": "https://json-schema.org/draft/2020-12/schema"}}}"#,
                                  pointer: "/properties/a/$schema", problem: "at the root of the document only")
        try expectDefinitionError(#"{"$defs": {"a": {"$id": "https://example.org/a"}}}"#, pointer: "/$defs/a/$id", problem: "at the root of the document only")
    }

    @Test func refusesMalformedKeywordValues() throws {
        try expectDefinitionError(#"{"minLength": -1}"#, pointer: "/minLength", problem: "must be a non-negative integer")
        try expectDefinitionError(#"{"maxItems": 1.5}"#, pointer: "/maxItems", problem: "must be a non-negative integer")
        try expectDefinitionError(#"{"required": ["a", "a"]}"#, pointer: "/required", problem: "'a' is listed twice")
        try expectDefinitionError(#"{"type": "text"}"#, pointer: "/type", problem: "unknown type \"text\"")
        try expectDefinitionError(#"{"multipleOf": 0}"#, pointer: "/multipleOf", problem: "must be greater than 0")
        try expectDefinitionError(#"{"enum": 3}"#, pointer: "/enum", problem: "'enum' must be an array")
        try expectDefinitionError(#"{"properties": {"a": 3}}"#, pointer: "/properties/a", problem: "a schema must be an object or a boolean")
        try expectDefinitionError(#"{"then": {}}"#, pointer: "/then", problem: "'then' has no effect without 'if'")
        try expectDefinitionError(#"{"oneOf": []}"#, pointer: "/oneOf", problem: "'oneOf' needs at least one schema")
        try expectDefinitionError(#"{"items": [{}]}"#, pointer: "/items", problem: "use 'prefixItems'")
        try expectDefinitionError(#"{"title": 3}"#, pointer: "/title", problem: "'title' must be a string")
        try expectDefinitionError(#"{"examples": {}}"#, pointer: "/examples", problem: "'examples' must be an array")
        try expectDefinitionError(#"{"uniqueItems": "yes"}"#, pointer: "/uniqueItems", problem: "must be true or false")
        try expectDefinitionError("3", pointer: "", problem: "a schema must be an object or a boolean")
    }

    @Test func readsSchemaFilesAndNamesThemInErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.schema.json").path
        try Data(#"{"title": "Good", "type": "integer", "examples": [1]}"#.utf8).write(to: URL(fileURLWithPath: good))
        let schema = try JSONSchema(contentsOfFile: good)
        #expect(schema.source == good)
        #expect(schema.title == "Good")
        #expect(schema.examples == [.number(1)])

        let broken = directory.appendingPathComponent("broken.schema.json").path
        try Data(#"{"type": "integer",}"#.utf8).write(to: URL(fileURLWithPath: broken))
        #expect(throws: SchemaDefinitionError.self) { try JSONSchema(contentsOfFile: broken) }
        do {
            _ = try JSONSchema(contentsOfFile: broken)
        } catch {
            #expect(error.description == "\(broken): the file is not JSON: trailing comma before '}' at byte 19")
        }
        let missing = directory.appendingPathComponent("missing.schema.json").path
        do {
            _ = try JSONSchema(contentsOfFile: missing)
            Issue.record("a missing file compiled")
        } catch {
            #expect(error.problem == "the file cannot be read")
        }
    }
}
