import Testing
@testable import MusterSchema

/// The assertion keywords, one by one: what passes, and where and why what fails does.
@Suite("JSON Schema keywords")
struct JSONSchemaTests {
    @Test func typeAcceptsTheListedTypesAndNamesThemWhenRefusing() throws {
        let string = try compileSchema(#"{"type": "string"}"#)
        try expectValid(string, #""x""#, #""""#)
        try expectViolation(string, "1", pointer: "", keyword: "/type", reason: "must be a string (found the number 1)")
        let nullable = try compileSchema(#"{"type": ["string", "null"]}"#)
        try expectValid(nullable, "null", #""x""#)
        try expectViolation(nullable, "true", pointer: "", keyword: "/type", reason: "must be a string or null (found true)")
        try expectViolation(nullable, #"{"a":1}"#, pointer: "", keyword: "/type", reason: "must be a string or null (found an object with 1 property)")
        try expectViolation(try compileSchema(#"{"type": "number"}"#), "false", pointer: "", keyword: "/type")
        try expectViolation(try compileSchema(#"{"type": "array"}"#), "{}", pointer: "", keyword: "/type", reason: "must be an array (found an empty object)")
    }

    /// Draft 2020-12: an integer is a number with no fractional part, however it is written.
    @Test func integerMeansNoFractionalPart() throws {
        let schema = try compileSchema(#"{"type": "integer"}"#)
        try expectValid(schema, "1", "1.0", "-3", "1e3", "0", "-0")
        try expectViolation(schema, "1.5", pointer: "", keyword: "/type", reason: "must be an integer (found the number 1.5)")
        try expectViolation(schema, "true", pointer: "", keyword: "/type")
        try expectViolation(schema, #""1""#, pointer: "", keyword: "/type", reason: #"must be an integer (found the string "1")"#)
    }

    @Test func enumNamesTheAllowedValuesAndWhatWasFound() throws {
        let schema = try compileSchema(#"{"enum": ["dispatch", "accept"]}"#)
        try expectValid(schema, #""accept""#)
        try expectViolation(schema, #""dispach""#, pointer: "", keyword: "/enum", reason: #"must be one of "dispatch", "accept" (found "dispach")"#)
        let structured = try compileSchema(#"{"enum": [1, {"a": [1, 2], "b": null}]}"#)
        try expectValid(structured, "1.0", #"{"b": null, "a": [1.0, 2]}"#)
        try expectViolation(structured, "true", pointer: "", keyword: "/enum")
        try expectViolation(structured, #"{"a": [2, 1], "b": null}"#, pointer: "", keyword: "/enum")
    }

    /// JSON equality: 1 equals 1.0, key order does not matter, true is not 1.
    @Test func constUsesJSONEquality() throws {
        let schema = try compileSchema(#"{"const": {"a": [1, 2], "b": "x"}}"#)
        try expectValid(schema, #"{"b": "x", "a": [1.0, 2e0]}"#)
        try expectViolation(schema, #"{"a": [1, 2]}"#, pointer: "", keyword: "/const", reason: #"must be {"a":[1,2],"b":"x"} (found {"a":[1,2]})"#)
        try expectViolation(try compileSchema(#"{"const": 1}"#), "true", pointer: "", keyword: "/const", reason: "must be 1 (found true)")
        try expectValid(try compileSchema(#"{"const": null}"#), "null")
        try expectViolation(try compileSchema(#"{"const": false}"#), "0", pointer: "", keyword: "/const")
    }

    @Test func numericBoundsAreInclusiveOrExclusiveAsNamed() throws {
        let schema = try compileSchema(#"{"minimum": 1, "maximum": 10, "exclusiveMinimum": 0.5, "exclusiveMaximum": 10.5}"#)
        try expectValid(schema, "1", "10", "5.5", #""not a number""#)
        try expectViolation(schema, "0.99", pointer: "", keyword: "/minimum", reason: "must be at least 1 (found 0.99)")
        try expectViolation(schema, "10.01", pointer: "", keyword: "/maximum", reason: "must be at most 10 (found 10.01)")
        let exclusive = try compileSchema(#"{"exclusiveMinimum": 0, "exclusiveMaximum": 100}"#)
        try expectValid(exclusive, "0.001", "99.999")
        try expectViolation(exclusive, "0", pointer: "", keyword: "/exclusiveMinimum", reason: "must be greater than 0 (found 0)")
        try expectViolation(exclusive, "100", pointer: "", keyword: "/exclusiveMaximum", reason: "must be less than 100 (found 100)")
    }

    /// JSON numbers are decimal: 19.99 is a multiple of 0.01 even though binary floating point
    /// cannot represent either exactly.
    @Test func multipleOfTreatsDecimalMultiplesAsMultiples() throws {
        let cents = try compileSchema(#"{"multipleOf": 0.01}"#)
        try expectValid(cents, "19.99", "0.07", "1234567.89", "0", "-4.35")
        try expectViolation(cents, "19.995", pointer: "", keyword: "/multipleOf", reason: "must be a multiple of 0.01 (found 19.995)")
        try expectValid(try compileSchema(#"{"multipleOf": 0.1}"#), "0.3", "0.7")
        // The JSON Schema test suite's "float division = inf" case: no overflow, and no multiple.
        try expectViolation(try compileSchema(#"{"multipleOf": 0.123456789}"#), "1e308", pointer: "", keyword: "/multipleOf")
        try expectViolation(try compileSchema(#"{"multipleOf": 0.1}"#), "0.35", pointer: "", keyword: "/multipleOf")
        let even = try compileSchema(#"{"multipleOf": 2}"#)
        try expectValid(even, "4", "-8", "4.0", "1e300")
        try expectViolation(even, "7", pointer: "", keyword: "/multipleOf", reason: "must be a multiple of 2 (found 7)")
        try expectViolation(even, "4.5", pointer: "", keyword: "/multipleOf")
    }

    /// Lengths count Unicode scalars, as Python's len() does: "é" written as e + U+0301 is two.
    @Test func stringLengthsCountUnicodeScalars() throws {
        let schema = try compileSchema(#"{"minLength": 2, "maxLength": 3}"#)
        try expectValid(schema, #""ab""#, #""😀😀""#, #""a😀b""#, #""中文字""#, "42")
        try expectViolation(schema, #""é""#, pointer: "", keyword: "/minLength", reason: #"must be at least 2 characters long (found 1: "é")"#)
        try expectViolation(schema, #""abcd""#, pointer: "", keyword: "/maxLength", reason: #"must be at most 3 characters long (found 4: "abcd")"#)
        try expectViolation(try compileSchema(#"{"maxLength": 1}"#), "\"e\u{301}\"", pointer: "", keyword: "/maxLength")
        try expectValid(try compileSchema(#"{"maxLength": 1}"#), #""\uD83D\uDE00""#)
    }

    @Test func patternSearchesAnywhereInTheString() throws {
        let schema = try compileSchema(#"{"pattern": "[0-9]{3}"}"#)
        try expectValid(schema, #""ab123cd""#, #""123""#, "12")
        try expectViolation(schema, #""ab12""#, pointer: "", keyword: "/pattern", reason: #"must match the pattern [0-9]{3} (found "ab12")"#)
    }

    /// ECMA-262 meaning: \d and \w are ASCII, and $ does not match before a final newline.
    @Test func patternHasECMA262Meaning() throws {
        let digits = try compileSchema(#"{"pattern": "^\\d+$"}"#)
        try expectValid(digits, #""0123456789""#)
        try expectViolation(digits, #""١٢""#, pointer: "", keyword: "/pattern")
        try expectViolation(digits, #""12\n""#, pointer: "", keyword: "/pattern")
        let word = try compileSchema(#"{"pattern": "^[\\w-]+$"}"#)
        try expectValid(word, #""grid_7-a""#)
        try expectViolation(word, #""café""#, pointer: "", keyword: "/pattern")
        let boundary = try compileSchema(#"{"pattern": "\\bok\\b"}"#)
        try expectValid(boundary, #""is ok.""#, #""éok""#)
        try expectViolation(boundary, #""took""#, pointer: "", keyword: "/pattern")
        try expectValid(try compileSchema(#"{"pattern": "^(?<area>[A-Z]{2})-(?!0)\\d+$"}"#), #""JS-12""#)
        let space = try compileSchema(#"{"pattern": "^a\\sb$"}"#)
        try expectValid(space, #""a b""#, #""a\u000Bb""#, #""a\uFEFFb""#, #""a\u3000b""#)
        try expectViolation(space, #""a\u200Bb""#, pointer: "", keyword: "/pattern")
        let dot = try compileSchema(#"{"pattern": "^a.b$"}"#)
        try expectValid(dot, #""a\u000Cb""#, #""a\u0085b""#, #""a😀b""#)
        try expectViolation(dot, #""a\nb""#, pointer: "", keyword: "/pattern")
        try expectViolation(dot, #""a\u2028b""#, pointer: "", keyword: "/pattern")
    }

    @Test func formatNamesTheExpectedShapeWhatWasFoundAndWhy() throws {
        let schema = try compileSchema(#"{"properties": {"deadline": {"format": "date-time"}}}"#)
        try expectValid(schema, #"{"deadline": "2026-11-21T09:30:00+08:00"}"#, #"{"deadline": 5}"#)
        try expectViolation(schema, #"{"deadline": "2026-13-01T00:00:00Z"}"#, pointer: "/deadline", keyword: "/properties/deadline/format",
                            reason: #"must be a date-time (RFC 3339, e.g. 2026-11-21T09:30:00+08:00); found "2026-13-01T00:00:00Z" (month 13 does not exist)"#)
        let long = String(repeating: "x", count: 100)
        try expectViolation(try compileSchema(#"{"format": "uri"}"#), "\"\(long)\"", pointer: "", keyword: "/format",
                            reason: "must be an absolute URI (RFC 3986, e.g. https://example.org/path); found \"\(String(repeating: "x", count: 59))…\" (there is no scheme (such as https:))")
    }

    @Test func requiredPointsAtTheMissingProperty() throws {
        let schema = try compileSchema(#"{"required": ["kind", "deadline"], "properties": {"task": {"required": ["id"]}}}"#)
        try expectValid(schema, #"{"kind": 1, "deadline": null}"#, "[]")
        try expectViolation(schema, #"{"kind": "x"}"#, pointer: "/deadline", keyword: "/required", reason: "property 'deadline' is required but missing")
        try expectViolation(schema, #"{"kind": 1, "deadline": 2, "task": {}}"#, pointer: "/task/id", keyword: "/properties/task/required")
        let escaped = try compileSchema(#"{"required": ["a/b~c"]}"#)
        try expectViolation(escaped, "{}", pointer: "/a~1b~0c", keyword: "/required", reason: "property 'a/b~c' is required but missing")
    }

    @Test func propertiesApplyToPresentMembersInSchemaOrder() throws {
        let schema = try compileSchema(#"{"properties": {"b": {"type": "string"}, "a": {"properties": {"c/d": {"type": "integer"}}}}}"#)
        try expectValid(schema, "{}", #"{"b": "x", "a": {"c/d": 1}, "other": true}"#)
        try expectViolation(schema, #"{"a": {"c/d": 1.5}, "b": 2}"#, pointer: "/b", keyword: "/properties/b/type")
        try expectViolation(schema, #"{"a": {"c/d": 1.5}}"#, pointer: "/a/c~1d", keyword: "/properties/a/properties/c~1d/type")
    }

    @Test func additionalPropertiesCoversWhatPropertiesAndPatternPropertiesDoNot() throws {
        let closed = try compileSchema(#"{"properties": {"a": {}, "b": {}}, "patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": false}"#)
        try expectValid(closed, #"{"a": 1, "x-note": "n"}"#)
        try expectViolation(closed, #"{"a": 1, "c": 2}"#, pointer: "/c", keyword: "/additionalProperties",
                            reason: "property 'c' is not allowed (allowed: 'a', 'b', and names matching ^x-)")
        try expectViolation(closed, #"{"x-note": 3}"#, pointer: "/x-note", keyword: "/patternProperties/^x-/type")
        let typed = try compileSchema(#"{"properties": {"a": {}}, "additionalProperties": {"type": "integer"}}"#)
        try expectValid(typed, #"{"a": "s", "n": 1}"#)
        try expectViolation(typed, #"{"a": "s", "n": "1"}"#, pointer: "/n", keyword: "/additionalProperties/type")
        try expectViolation(try compileSchema(#"{"additionalProperties": false}"#), #"{"x": 1}"#, pointer: "/x", keyword: "/additionalProperties",
                            reason: "property 'x' is not allowed (no properties are allowed here)")
    }

    @Test func propertyCountsAreBounded() throws {
        let schema = try compileSchema(#"{"minProperties": 1, "maxProperties": 2}"#)
        try expectValid(schema, #"{"a": 1}"#, #"{"a": 1, "b": 2}"#, "[]")
        try expectViolation(schema, "{}", pointer: "", keyword: "/minProperties", reason: "must have at least 1 property (found 0)")
        try expectViolation(schema, #"{"a": 1, "b": 2, "c": 3}"#, pointer: "", keyword: "/maxProperties", reason: "must have at most 2 properties (found 3)")
    }

    /// Draft 2020-12: `prefixItems` describes positions, `items` every element after them.
    @Test func prefixItemsAndItemsSplitTheArray() throws {
        let schema = try compileSchema(#"{"prefixItems": [{"type": "string"}, {"type": "number"}], "items": {"type": "boolean"}}"#)
        try expectValid(schema, #"["a", 1, true, false]"#, #"["a"]"#, "[]", #"{"not": "an array"}"#)
        try expectViolation(schema, #"["a", "b"]"#, pointer: "/1", keyword: "/prefixItems/1/type")
        try expectViolation(schema, #"["a", 1, true, 2]"#, pointer: "/3", keyword: "/items/type")
        let closed = try compileSchema(#"{"prefixItems": [{}, {}], "items": false}"#)
        try expectViolation(closed, "[1, 2, 3]", pointer: "", keyword: "/items", reason: "must have at most 2 items (those 'prefixItems' describes) (found 3)")
        try expectViolation(try compileSchema(#"{"items": false}"#), "[1]", pointer: "", keyword: "/items", reason: "must be empty (found 1)")
        try expectViolation(try compileSchema(#"{"items": {"type": "integer"}}"#), #"[1, "a"]"#, pointer: "/1", keyword: "/items/type")
    }

    @Test func itemCountsAreBounded() throws {
        let schema = try compileSchema(#"{"minItems": 1, "maxItems": 2}"#)
        try expectValid(schema, "[1]", "[1, 2]", #""x""#)
        try expectViolation(schema, "[]", pointer: "", keyword: "/minItems", reason: "must have at least 1 item (found 0)")
        try expectViolation(schema, "[1, 2, 3]", pointer: "", keyword: "/maxItems", reason: "must have at most 2 items (found 3)")
    }

    @Test func uniqueItemsUsesJSONEquality() throws {
        let schema = try compileSchema(#"{"uniqueItems": true}"#)
        try expectValid(schema, "[1, true]", "[0, false]", "[[1], [true]]", #"[{"a": 1}, {"a": 2}]"#, "[]")
        try expectViolation(schema, #"["x", 1, 1.0]"#, pointer: "", keyword: "/uniqueItems", reason: "must not repeat items, but items 1 and 2 are both 1")
        try expectViolation(schema, #"[{"a": 1, "b": 2}, {"b": 2, "a": 1}]"#, pointer: "", keyword: "/uniqueItems")
        try expectValid(try compileSchema(#"{"uniqueItems": false}"#), "[1, 1]")
    }

    @Test func booleanSchemasAcceptEverythingOrNothing() throws {
        try expectValid(try compileSchema("true"), "null", "{}", #"[1, "a"]"#)
        try expectViolation(try compileSchema("false"), "null", pointer: "", keyword: "", reason: "no value is allowed here (the schema is false)")
        try expectViolation(try compileSchema(#"{"properties": {"a": false}}"#), #"{"a": 1}"#, pointer: "/a", keyword: "/properties/a")
    }

    @Test func annotationsAreAcceptedAndChangeNothing() throws {
        let schema = try compileSchema("""
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://muster.example/task.schema.json",
             "$comment": "c", "title": "Task", "description": "d", "examples": [{"a": 1}], "default": {},
             "properties": {"a": {"deprecated": true, "readOnly": false, "writeOnly": false, "default": 3, "type": "integer"}}}
            """)
        #expect(schema.title == "Task")
        #expect(schema.examples == [.object(JSONObject([("a", .number(1))]))])
        try expectValid(schema, #"{"a": 1}"#, "{}")
        try expectViolation(schema, #"{"a": "x"}"#, pointer: "/a", keyword: "/properties/a/type")
    }
}
