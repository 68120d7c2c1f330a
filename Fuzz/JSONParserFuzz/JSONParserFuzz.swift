import FuzzSupport
import MusterSchema

// The strict JSON parser, fed any bytes (message bodies are parsed before validation).
// Invariants:
//  1. The same bytes give the same result through every entry point: a contiguous array, a
//     collection without contiguous storage, and (when the bytes are UTF-8) a String.
//  2. An error points inside the input (offset 0...count) and says what is wrong.
//  3. A parsed value nests no deeper than JSONParser.maximumDepth.
//  4. Round trip: the value's jsonText parses back to an equal value with the same hash, and
//     printing that value again gives the same text.

func check(_ input: [UInt8]) {
    let parsed = parse(input)
    let throughCopy = parse(input.lazy.map { $0 })
    invariant(parsed == throughCopy, "contiguous: \(parsed); not contiguous: \(throughCopy)")
    if let text = String(validating: input, as: UTF8.self) {
        let throughString = Result { () throws(JSONSyntaxError) in try JSONParser.parse(text) }
        invariant(parsed == throughString, "bytes: \(parsed); String: \(throughString)")
    }

    switch parsed {
    case .failure(let error):
        invariant(error.offset >= 0 && error.offset <= input.count, "error offset \(error.offset) outside \(input.count) bytes: \(error)")
        invariant(!error.problem.isEmpty, "an error without a problem at \(error.offset)")
    case .success(let value):
        invariant(depth(of: value) <= JSONParser.maximumDepth, "a value nested \(depth(of: value)) deep was accepted")
        let text = value.jsonText
        switch parse(Array(text.utf8)) {
        case .failure(let error):
            invariant(false, "jsonText \(text) of a parsed value does not parse: \(error)")
        case .success(let reparsed):
            invariant(reparsed == value, "jsonText \(text) parses to a different value \(reparsed.jsonText)")
            invariant(reparsed.hashValue == value.hashValue, "equal values \(text) hash differently")
            invariant(reparsed.jsonText == text, "printing \(text) again gives \(reparsed.jsonText)")
        }
    }
}

func parse(_ bytes: some Collection<UInt8>) -> Result<JSONValue, JSONSyntaxError> {
    Result { () throws(JSONSyntaxError) in try JSONParser.parse(bytes) }
}

/// Arrays and objects count one level each; scalars none.
func depth(of value: JSONValue) -> Int {
    switch value {
    case .array(let elements): return 1 + (elements.map(depth).max() ?? 0)
    case .object(let object): return 1 + (object.members.map { depth(of: $0.value) }.max() ?? 0)
    default: return 0
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
enum JSONParserFuzz {
    static func main() {
        replayFiles(check)
    }
}
#endif
