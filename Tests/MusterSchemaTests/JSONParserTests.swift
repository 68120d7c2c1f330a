import Foundation
import Testing
@testable import MusterSchema

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#"{"n":null,"t":true,"f":false,"i":-12,"d":2.5e3,"s":"x","a":[1,[]],"o":{}}"#)
        #expect(value["n"] == .null)
        #expect(value["t"] == .bool(true))
        #expect(value["f"] == .bool(false))
        #expect(value["i"] == .number(-12))
        #expect(value["d"] == .number(2500))
        #expect(value["s"] == .string("x"))
        #expect(value["a"] == .array([.number(1), .array([])]))
        #expect(value["o"] == .object(JSONObject([])))
    }

    @Test func keepsObjectKeysInDocumentOrder() throws {
        let value = try JSONParser.parse(#"{"zulu":1,"alpha":2,"mike":3}"#)
        guard case .object(let object) = value else { Issue.record("not an object"); return }
        #expect(object.keys == ["zulu", "alpha", "mike"])
        #expect(value.jsonText == #"{"zulu":1,"alpha":2,"mike":3}"#)
    }

    @Test func equalityIsJSONEqualityIgnoringKeyOrderAndNumberSpelling() throws {
        #expect(try JSONParser.parse(#"{"a":1,"b":[1.0]}"#) == JSONParser.parse(#"{"b":[1e0],"a":10E-1}"#))
        #expect(try JSONParser.parse("true") != JSONParser.parse("1"))
        #expect(try JSONParser.parse("-0") == JSONParser.parse("0"))
        #expect(Set([try JSONParser.parse(#"{"a":1,"b":2}"#), try JSONParser.parse(#"{"b":2,"a":1.0}"#)]).count == 1)
    }

    @Test func acceptsWhitespaceAroundValuesOnly() throws {
        #expect(try JSONParser.parse(" \t\r\n[ 1 ,\n2 ]\n ") == .array([.number(1), .number(2)]))
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let bytes: [UInt8]
        let offset: Int
        let problem: String
        init(_ text: String, at offset: Int, _ problem: String) {
            self.init(bytes: Array(text.utf8), at: offset, problem)
        }
        init(bytes: [UInt8], at offset: Int, _ problem: String) {
            self.bytes = bytes
            self.offset = offset
            self.problem = problem
        }
        var testDescription: String { String(decoding: bytes, as: UTF8.self).debugDescription }
    }

    @Test(arguments: [
        Refusal("", at: 0, "expected a JSON value but found the end of the input"),
        Refusal("   ", at: 3, "expected a JSON value but found the end of the input"),
        Refusal("[1,]", at: 3, "trailing comma before ']'"),
        Refusal(#"{"a":1,}"#, at: 7, "trailing comma before '}'"),
        Refusal("// note\n1", at: 0, "comments are not allowed in JSON"),
        Refusal("/* note */ 1", at: 0, "comments are not allowed in JSON"),
        Refusal(#"{"a":1,/*x*/"b":2}"#, at: 7, "comments are not allowed in JSON"),
        Refusal("01", at: 1, "leading zeros are not allowed in numbers"),
        Refusal("-007", at: 2, "leading zeros are not allowed in numbers"),
        Refusal("NaN", at: 0, "NaN and Infinity are not JSON numbers"),
        Refusal("Infinity", at: 0, "NaN and Infinity are not JSON numbers"),
        Refusal("-Infinity", at: 1, "NaN and Infinity are not JSON numbers"),
        Refusal("+1", at: 0, "expected a JSON value but found '+'"),
        Refusal(".5", at: 0, "expected a JSON value but found '.'"),
        Refusal("1.", at: 2, "expected a digit after the decimal point but found the end of the input"),
        Refusal("1.e5", at: 2, "expected a digit after the decimal point but found 'e'"),
        Refusal("1e", at: 2, "expected a digit in the exponent but found the end of the input"),
        Refusal("1e+", at: 3, "expected a digit in the exponent but found the end of the input"),
        Refusal("-", at: 1, "expected a digit after '-' but found the end of the input"),
        Refusal("0x10", at: 1, "unexpected 'x' after the JSON value"),
        Refusal("1e400", at: 0, "the number 1e400 is too large to represent"),
        Refusal("-1e400", at: 0, "the number -1e400 is too large to represent"),
        Refusal(#""\uD800""#, at: 1, #"lone surrogate \uD800: a high surrogate must be followed by a \u low surrogate"#),
        Refusal(#""\uD800x""#, at: 1, #"lone surrogate \uD800: a high surrogate must be followed by a \u low surrogate"#),
        Refusal(#""\uDBFF\u0041""#, at: 1, #"lone surrogate \uDBFF: it is followed by \u0041, not a low surrogate"#),
        Refusal(#""\uDC00""#, at: 1, #"lone surrogate \uDC00: a low surrogate must follow a high surrogate"#),
        Refusal(#""\u12G4""#, at: 1, #"\u must be followed by four hex digits"#),
        Refusal(#""\x""#, at: 1, #"invalid escape \x in a string"#),
        Refusal(#""\'""#, at: 1, #"invalid escape \' in a string"#),
        Refusal("\"a\nb\"", at: 2, "control character U+000A must be escaped in a string"),
        Refusal("\"\t\"", at: 1, "control character U+0009 must be escaped in a string"),
        Refusal("\"\u{0}\"", at: 1, "control character U+0000 must be escaped in a string"),
        Refusal(#"{"x":1,"x":2}"#, at: 7, "duplicate key 'x'"),
        Refusal(#"{"a":{"x":1,"y":{},"x":[]}}"#, at: 19, "duplicate key 'x'"),
        Refusal("[1 2]", at: 3, "expected ',' or ']' after an array element but found '2'"),
        Refusal(#"{"a":1 "b":2}"#, at: 7, "expected ',' or '}' after an object member but found '\"'"),
        Refusal(#"{"a" 1}"#, at: 5, "expected ':' after the key 'a' but found '1'"),
        Refusal("{1:2}", at: 1, "expected a property name in double quotes but found '1'"),
        Refusal("{'a':2}", at: 1, "expected a property name in double quotes but found '''"),
        Refusal("'a'", at: 0, "strings must be in double quotes"),
        Refusal("1 2", at: 2, "unexpected '2' after the JSON value"),
        Refusal("{} x", at: 3, "unexpected 'x' after the JSON value"),
        Refusal(#""abc"#, at: 4, "unterminated string (it starts at byte 0)"),
        Refusal(#"["abc\"#, at: 6, "unterminated escape sequence"),
        Refusal("tru", at: 0, "invalid literal; expected 'true'"),
        Refusal("True", at: 0, "expected a JSON value but found 'T'"),
        Refusal("nul", at: 0, "invalid literal; expected 'null'"),
        Refusal("[", at: 1, "expected a JSON value but found the end of the input"),
        Refusal("[1", at: 2, "expected ',' or ']' after an array element but found the end of the input"),
        Refusal("{", at: 1, "expected a property name in double quotes but found the end of the input"),
        Refusal("\u{C}1", at: 0, "expected a JSON value but found byte 0xC"),
        Refusal("\u{A0}1", at: 0, "expected a JSON value but found byte 0xC2"),
        Refusal(bytes: [0xEF, 0xBB, 0xBF, 0x31], at: 0, "a byte order mark is not allowed before JSON text"),
        Refusal(bytes: [0x22, 0xC0, 0x80, 0x22], at: 1, "invalid UTF-8: byte 0xC0 cannot start a character"),
        Refusal(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], at: 1, "invalid UTF-8 sequence in a string"),
        Refusal(bytes: [0x22, 0xE2, 0x82, 0x22], at: 1, "invalid UTF-8 sequence in a string"),
        Refusal(bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], at: 1, "invalid UTF-8 sequence in a string"),
        Refusal(bytes: [0x22, 0x5C, 0x6E, 0xFF, 0x22], at: 3, "invalid UTF-8: byte 0xFF cannot start a character"),
        Refusal(bytes: [0x22, 0x80, 0x22], at: 1, "invalid UTF-8: byte 0x80 cannot start a character"),
    ])
    func refusesWhatRFC8259DoesNotAllow(_ refusal: Refusal) {
        #expect(throws: JSONSyntaxError(offset: refusal.offset, problem: refusal.problem)) {
            try JSONParser.parse(refusal.bytes)
        }
    }

    @Test func decodesEscapesIncludingSurrogatePairs() throws {
        let value = try JSONParser.parse(#"["\uD83D\uDE00", "\u00e9\u4E2D", "\"\\\/\b\f\n\r\t", "😀é"]"#)
        #expect(value == .array([.string("😀"), .string("é中"), .string("\"\\/\u{8}\u{C}\n\r\t"), .string("😀é")]))
    }

    @Test func writesBackWhatItReads() throws {
        let text = #"{"s":"a\"b\\c\n\u0001é","n":[0,-1,0.5,1e+300],"e":{}}"#
        let value = try JSONParser.parse(text)
        #expect(try JSONParser.parse(value.jsonText) == value)
        #expect(value.jsonText == #"{"s":"a\"b\\c\n\u0001é","n":[0,-1,0.5,1e+300],"e":{}}"#)
    }

    @Test func acceptsNestingUpToTheLimitAndRefusesOneLevelMore() throws {
        let limit = JSONParser.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try JSONParser.parse(deepest) }
        let tooDeep = String(repeating: #"{"a":"#, count: limit) + "[1]" + String(repeating: "}", count: limit)
        #expect(throws: JSONSyntaxError(offset: limit * 5, problem: "arrays and objects are nested deeper than 128 levels")) {
            try JSONParser.parse(tooDeep)
        }
    }

    @Test(arguments: [
        ("9007199254740993", 9_007_199_254_740_992.0),
        ("12345678901234567890", 12_345_678_901_234_567_890.0),
        ("-9999999999999999", -10_000_000_000_000_000.0),
        ("1.7976931348623157e308", Double.greatestFiniteMagnitude),
        ("1e-400", 0.0),
        ("1E+2", 100.0),
        ("0.1", 0.1),
        ("-0.0", 0.0),
    ])
    func readsNumbersAsTheNearestDouble(text: String, expected: Double) throws {
        #expect(try JSONParser.parse(text) == .number(expected))
    }

    @Test func parsesTheSameFromNonContiguousBytesSplitAnywhere() throws {
        let text = Array(#"{"kind":"dispatch","tags":["a","é😀"],"n":-1.5e2,"ok":true,"none":null}"#.utf8)
        let expected = try JSONParser.parse(text)
        for split in 0...text.count {
            let pieces = [Array(text[..<split]), Array(text[split...])]
            #expect(try JSONParser.parse(pieces.joined()) == expected, "split at \(split)")
        }
    }

    @Test func refusesEveryTruncationOfADocument() throws {
        let text = Array(#"{"a":[1,{"b":"c\u00e9"}],"d":true}"#.utf8)
        for length in 0..<text.count {
            #expect(throws: JSONSyntaxError.self, "first \(length) bytes") { try JSONParser.parse(text[..<length]) }
        }
    }

    @Test func parsesAFourMebibyteBody() throws {
        let element = #"{"id":123456,"name":"street office \u8857\u9053","tags":["a","b"],"score":12.75,"open":false},"#
        let count = 4 * 1024 * 1024 / element.utf8.count
        let body = Array(("[" + String(repeating: element, count: count).dropLast() + "]").utf8)
        guard case .array(let elements) = try JSONParser.parse(body) else { Issue.record("not an array"); return }
        #expect(elements.count == count)
        #expect(elements.last?["name"] == .string("street office 街道"))
    }

    @Test func describesTheErrorWithItsOffset() {
        #expect(JSONSyntaxError(offset: 7, problem: "duplicate key 'x'").description == "JSON syntax error at byte 7: duplicate key 'x'")
    }
}
