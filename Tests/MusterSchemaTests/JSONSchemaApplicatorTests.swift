import Testing
@testable import MusterSchema

/// `$ref`, the combinators, conditionals, and the order failures are reported in.
@Suite("JSON Schema applicators")
struct JSONSchemaApplicatorTests {
    /// A keyword reached through `$ref` is located where it is written, in `$defs`.
    @Test func refAppliesTheTargetAndLocatesItsKeywords() throws {
        let schema = try compileSchema("""
            {"properties": {"count": {"$ref": "#/$defs/positive"}, "other": {"$ref": "#/$defs/a~1b%20c"}},
             "$defs": {"positive": {"type": "integer", "minimum": 1}, "a/b c": {"const": 2}}}
            """)
        try expectValid(schema, #"{"count": 3, "other": 2}"#)
        try expectViolation(schema, #"{"count": 0}"#, pointer: "/count", keyword: "/$defs/positive/minimum")
        try expectViolation(schema, #"{"other": 3}"#, pointer: "/other", keyword: "/$defs/a~1b c/const")
    }

    @Test func refAppliesAlongsideItsSiblings() throws {
        let schema = try compileSchema(##"{"$ref": "#/$defs/number", "maximum": 5, "$defs": {"number": {"type": "number"}}}"##)
        try expectValid(schema, "4")
        try expectViolation(schema, #""4""#, pointer: "", keyword: "/$defs/number/type")
        try expectViolation(schema, "6", pointer: "", keyword: "/maximum")
    }

    @Test func recursiveRefsFollowTheInstanceDown() throws {
        let tree = try compileSchema("""
            {"type": "object", "required": ["name"],
             "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}}
            """)
        try expectValid(tree, #"{"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}"#)
        try expectViolation(tree, #"{"name": "a", "children": [{"name": "b", "children": [{"name": "c"}, {"name": 4}]}]}"#,
                            pointer: "/children/0/children/1/name", keyword: "/properties/name/type")
        let mutual = try compileSchema("""
            {"$ref": "#/$defs/a", "$defs": {"a": {"properties": {"next": {"$ref": "#/$defs/b"}}},
                                           "b": {"type": "object", "properties": {"next": {"$ref": "#/$defs/a"}}}}}
            """)
        try expectValid(mutual, #"{"next": {"next": {"next": {}}}}"#)
        try expectViolation(mutual, #"{"next": {"next": {"next": 1}}}"#, pointer: "/next/next/next", keyword: "/$defs/b/type")
    }

    @Test func allOfReportsTheFirstFailingSchema() throws {
        let schema = try compileSchema(#"{"allOf": [{"type": "number"}, {"minimum": 2}, {"maximum": 1}]}"#)
        try expectViolation(schema, "1", pointer: "", keyword: "/allOf/1/minimum")
        try expectViolation(schema, #""x""#, pointer: "", keyword: "/allOf/0/type")
        try expectValid(try compileSchema(#"{"allOf": [true, {"type": "integer"}]}"#), "3")
    }

    @Test func anyOfNeedsOneMatchAndOtherwiseExplainsTheClosest() throws {
        let schema = try compileSchema("""
            {"anyOf": [{"required": ["id"]}, {"properties": {"ref": {"properties": {"id": {"type": "string"}}}}, "required": ["ref"]}]}
            """)
        try expectValid(schema, #"{"id": 1}"#, #"{"ref": {"id": "x"}}"#, #"{"id": 1, "ref": 2}"#)
        try expectViolation(schema, #"{"ref": {"id": 3}}"#, pointer: "", keyword: "/anyOf",
                            reason: "matches none of the 2 alternatives; the closest (/anyOf/1) fails at /ref/id: must be a string (found the number 3)")
    }

    @Test func oneOfNamesEveryMatchWhenMoreThanOneMatches() throws {
        let schema = try compileSchema(#"{"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}, {"type": "string"}]}"#)
        try expectValid(schema, "-1", "0.5", #""x""#)
        try expectViolation(schema, "5", pointer: "", keyword: "/oneOf",
                            reason: "must match exactly one of the 3 alternatives but matches /oneOf/0 and /oneOf/1")
    }

    @Test func oneOfSumsUpTypesWhenEveryAlternativeHasTheWrongType() throws {
        let schema = try compileSchema(#"{"properties": {"v": {"oneOf": [{"type": "string"}, {"type": ["object", "null"]}]}}}"#)
        try expectViolation(schema, #"{"v": 5}"#, pointer: "/v", keyword: "/properties/v/oneOf",
                            reason: "must be an object, a string or null (found the number 5)")
    }

    static let messages = """
        {"oneOf": [{"$ref": "#/$defs/dispatch"}, {"$ref": "#/$defs/accept"}],
         "$defs": {
           "dispatch": {"type": "object", "required": ["kind", "task"],
                        "properties": {"kind": {"const": "dispatch"}, "task": {"type": "string"}}},
           "accept": {"type": "object", "required": ["kind", "deadline"],
                      "properties": {"kind": {"const": "accept"}, "deadline": {"format": "date-time"}}}}}
        """

    /// The discriminator says which alternative was meant, so its failure is the one reported.
    @Test func oneOfExplainsTheAlternativeTheDiscriminatorSelects() throws {
        let schema = try compileSchema(JSONSchemaApplicatorTests.messages)
        try expectValid(schema, #"{"kind": "accept", "deadline": "2026-11-21T09:30:00+08:00"}"#, #"{"kind": "dispatch", "task": "t"}"#)
        try expectViolation(schema, #"{"kind": "accept"}"#, pointer: "", keyword: "/oneOf",
                            reason: #"matches none of the 2 alternatives; the one for kind "accept" (/$defs/accept) fails at /deadline: property 'deadline' is required but missing"#)
        try expectViolation(schema, #"{"kind": "accept", "deadline": "tomorrow"}"#, pointer: "", keyword: "/oneOf",
                            reason: #"matches none of the 2 alternatives; the one for kind "accept" (/$defs/accept) fails at /deadline: must be a date-time (RFC 3339, e.g. 2026-11-21T09:30:00+08:00); found "tomorrow" (the date must be YYYY-MM-DD)"#)
    }

    @Test func oneOfSaysWhatTheDiscriminatorMustBeWhenNoneMatches() throws {
        let schema = try compileSchema(JSONSchemaApplicatorTests.messages)
        try expectViolation(schema, #"{"kind": "dispach", "task": "t"}"#, pointer: "", keyword: "/oneOf",
                            reason: #"matches none of the 2 alternatives: 'kind' must be one of "dispatch", "accept" (found "dispach")"#)
        try expectViolation(schema, #"{"task": "t"}"#, pointer: "", keyword: "/oneOf",
                            reason: #"matches none of the 2 alternatives: property 'kind' is required to choose one, and must be one of "dispatch", "accept""#)
        try expectViolation(schema, "[]", pointer: "", keyword: "/oneOf", reason: "must be an object (found an empty array)")
    }

    @Test func notRefusesWhatItsSchemaAccepts() throws {
        let schema = try compileSchema(#"{"properties": {"a": {"not": {"type": "null"}}}}"#)
        try expectValid(schema, #"{"a": 1}"#)
        try expectViolation(schema, #"{"a": null}"#, pointer: "/a", keyword: "/properties/a/not",
                            reason: "must not match the schema at /properties/a/not, but does")
    }

    @Test func ifSelectsThenOrElse() throws {
        let schema = try compileSchema("""
            {"if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["x"]}, "else": {"required": ["y"]}}
            """)
        // Without "kind" the condition holds vacuously, so "then" applies.
        try expectValid(schema, #"{"kind": "a", "x": 1}"#, #"{"kind": "b", "y": 1}"#, #"{"x": 1}"#)
        try expectViolation(schema, #"{"kind": "a", "y": 1}"#, pointer: "/x", keyword: "/then/required")
        try expectViolation(schema, #"{"kind": "b", "x": 1}"#, pointer: "/y", keyword: "/else/required")
        let thenOnly = try compileSchema(#"{"if": {"type": "string"}, "then": {"minLength": 2}}"#)
        try expectValid(thenOnly, "1", #""ab""#)
        try expectViolation(thenOnly, #""a""#, pointer: "", keyword: "/then/minLength")
    }

    /// Type first, then the fixed order of `SchemaCompiler.evaluationOrder`, whatever the
    /// order keywords are written in.
    @Test func failuresAreReportedInAFixedOrder() throws {
        let schema = try compileSchema(#"{"minimum": 5, "type": "integer"}"#)
        try expectViolation(schema, "1.5", pointer: "", keyword: "/type")
        let object = try compileSchema(#"{"properties": {"a": {"type": "string"}}, "additionalProperties": false, "required": ["b"]}"#)
        try expectViolation(object, #"{"a": 1, "c": 1}"#, pointer: "/b", keyword: "/required")
        try expectViolation(object, #"{"b": 1, "c": 1, "a": 1}"#, pointer: "/a", keyword: "/properties/a/type")
    }

    @Test func bodiesThatAreNotJSONAreViolationsAtTheRoot() throws {
        let schema = try compileSchema(#"{"type": "object"}"#)
        #expect(schema.validate(body: Array(#"{"a": 1}"#.utf8)) == nil)
        #expect(schema.validate(body: Array(#"{"a":1,"a":2}"#.utf8))
                == SchemaViolation(pointer: "", keywordLocation: "", reason: "the body is not JSON: duplicate key 'a' at byte 7"))
        #expect(schema.validate(body: Array("[1]".utf8))?.keywordLocation == "/type")
    }

    @Test func violationsDescribeThemselves() {
        let violation = SchemaViolation(pointer: "/deadline", keywordLocation: "/required", reason: "property 'deadline' is required but missing")
        #expect(violation.description == "/deadline: property 'deadline' is required but missing [schema /required]")
    }

    @Test func oneCompiledSchemaValidatesConcurrently() async throws {
        let schema = try compileSchema(JSONSchemaApplicatorTests.messages)
        let instance = try JSONParser.parse(#"{"kind": "accept"}"#)
        let reasons = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<8 { group.addTask { schema.validate(instance)?.reason } }
            return await group.reduce(into: Set<String?>()) { $0.insert($1) }
        }
        #expect(reasons.count == 1)
    }
}
