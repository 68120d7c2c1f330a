import Testing
@testable import MusterSchema

@Suite("JSON Pointer")
struct JSONPointerTests {
    @Test func escapesTildeAndSlash() {
        #expect(JSONPointer.escape("a/b~c") == "a~1b~0c")
        #expect(JSONPointer.unescape("a~1b~0c") == "a/b~c")
        #expect(JSONPointer.unescape("~01") == "~1")
        #expect(JSONPointer.unescape("a~2") == nil)
        #expect(JSONPointer.unescape("a~") == nil)
        #expect(JSONPointer(tokens: ["", "a/b", "~"]).description == "//a~1b/~0")
    }

    @Test func parsesTheTextForm() {
        #expect(JSONPointer("")?.tokens == [])
        #expect(JSONPointer("/")?.tokens == [""])
        #expect(JSONPointer("/a~1b/0")?.tokens == ["a/b", "0"])
        #expect(JSONPointer("a") == nil)
        #expect(JSONPointer("/a~x") == nil)
    }

    /// The examples of RFC 6901 section 5.
    @Test func resolvesTheExamplesOfRFC6901() throws {
        let document = try JSONParser.parse(#"{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\j":5,"k\"l":6," ":7,"m~n":8}"#)
        let expectations: [(String, JSONValue?)] = [
            ("", document), ("/foo", .array([.string("bar"), .string("baz")])), ("/foo/0", .string("bar")),
            ("/", .number(0)), ("/a~1b", .number(1)), ("/c%d", .number(2)), ("/e^f", .number(3)),
            ("/g|h", .number(4)), ("/i\\j", .number(5)), ("/k\"l", .number(6)), ("/ ", .number(7)), ("/m~0n", .number(8)),
            ("/foo/2", nil), ("/foo/01", nil), ("/foo/-", nil), ("/missing", nil), ("/foo/0/x", nil),
        ]
        for (text, expected) in expectations {
            let pointer = try #require(JSONPointer(text))
            #expect(pointer.resolve(in: document) == expected, "\(text)")
        }
    }
}
