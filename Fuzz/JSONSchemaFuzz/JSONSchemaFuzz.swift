import Foundation
import FuzzSupport
import MusterSchema

// The schema compiler and validator. Input: a mode byte, then
//  - even mode: a message body, validated against one of the committed Schemas/*.schema.json
//    (mode / 2 picks which), as the broker validates what publishers send;
//  - odd mode: a schema document, a NUL byte, and an instance (the schema's own examples are
//    validated too), so that the compiler sees any schema.
// Invariants:
//  1. Compiling is deterministic, and a compile error points into the document.
//  2. Validating is deterministic and independent of how the instance arrived: the parsed
//     value, the body bytes, and the value's jsonText parsed again all give the same verdict,
//     and so does the schema compiled from its own jsonText.
//  3. A violation points into the instance (or, for a missing property, at a name inside an
//     object that lacks it) and at a keyword written in the schema document.

struct LoadedSchema {
    let document: JSONValue
    let schema: JSONSchema
    /// The same schema compiled from its jsonText.
    let reprinted: JSONSchema
}

let committedSchemas: [LoadedSchema] = {
    let directory = repositoryRoot + "/Schemas"
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { $0.hasSuffix(".schema.json") }.sorted()
    guard !names.isEmpty else { fatalError("no schemas in \(directory): run the fuzz target from its repository") }
    return names.map { name in
        let path = directory + "/" + name
        do {
            let document = try JSONParser.parse(FileManager.default.contents(atPath: path) ?? Data())
            return LoadedSchema(document: document, schema: try JSONSchema(compiling: document, source: path),
                                reprinted: try JSONSchema(compiling: try JSONParser.parse(document.jsonText), source: path))
        } catch {
            fatalError("\(path) does not compile: \(error)")
        }
    }
}()

func check(_ input: [UInt8]) {
    var choices = FuzzBytes(input)
    let mode = Int(choices.byte())
    let rest = choices.rest
    if mode % 2 == 0 {
        let loaded = committedSchemas[(mode / 2) % committedSchemas.count]
        checkInstance(Array(rest), loaded)
        return
    }
    let separator = rest.firstIndex(of: 0) ?? rest.endIndex
    guard let loaded = compile(rest[..<separator]) else { return }
    for example in loaded.schema.examples {
        checkInstance(Array(example.jsonText.utf8), loaded)
    }
    if separator < rest.endIndex {
        checkInstance(Array(rest[(separator + 1)...]), loaded)
    }
}

func compile(_ bytes: ArraySlice<UInt8>) -> LoadedSchema? {
    guard let document = try? JSONParser.parse(bytes) else { return nil }
    let first = Result { () throws(SchemaDefinitionError) in try JSONSchema(compiling: document, source: "fuzz.schema.json") }
    let second = Result { () throws(SchemaDefinitionError) in try JSONSchema(compiling: document, source: "fuzz.schema.json") }
    switch (first, second) {
    case (.success(let schema), .success):
        let reprinted: JSONSchema
        do {
            reprinted = try JSONSchema(compiling: try JSONParser.parse(document.jsonText), source: "fuzz.schema.json")
        } catch {
            invariant(false, "the schema compiles but its jsonText does not: \(error)")
            return nil
        }
        return LoadedSchema(document: document, schema: schema, reprinted: reprinted)
    case (.failure(let error), .failure(let again)):
        invariant(error.description == again.description, "compiling twice failed differently: \(error) / \(again)")
        invariant(JSONPointer(error.pointer)?.resolve(in: document) != nil,
                  "the compile error's pointer \(error.pointer) is not in the document: \(error)")
        return nil
    default:
        invariant(false, "compiling twice gave different results: \(first) / \(second)")
        return nil
    }
}

func checkInstance(_ body: [UInt8], _ loaded: LoadedSchema) {
    let fromBody = loaded.schema.validate(body: body)
    guard let instance = try? JSONParser.parse(body) else {
        invariant(fromBody != nil && fromBody!.pointer == "", "a body that is not JSON was accepted: \(String(describing: fromBody))")
        return
    }
    let verdict = loaded.schema.validate(instance)
    invariant(verdict == fromBody, "the value gave \(String(describing: verdict)), the body \(String(describing: fromBody))")
    invariant(loaded.schema.validate(instance) == verdict, "validating twice gave different verdicts")
    let reparsed = try? JSONParser.parse(instance.jsonText)
    invariant(reparsed != nil && loaded.schema.validate(reparsed!) == verdict,
              "the instance's jsonText gave a different verdict than \(String(describing: verdict))")
    invariant(loaded.reprinted.validate(instance) == verdict,
              "the schema compiled from its jsonText gave \(String(describing: loaded.reprinted.validate(instance))), not \(String(describing: verdict))")
    guard let violation = verdict else { return }

    guard let pointer = JSONPointer(violation.pointer) else {
        invariant(false, "violation pointer \(violation.pointer) is not a JSON Pointer: \(violation)")
        return
    }
    if pointer.resolve(in: instance) == nil {
        // A missing property: its parent is an object without it.
        let parent = JSONPointer(tokens: Array(pointer.tokens.dropLast()))
        var absent = false
        if let name = pointer.tokens.last, case .object(let object)? = parent.resolve(in: instance) {
            absent = object[name] == nil
        }
        invariant(absent, "violation pointer \(violation.pointer) is not in the instance: \(violation)")
    }
    invariant(JSONPointer(violation.keywordLocation)?.resolve(in: loaded.document) != nil,
              "violation keyword location \(violation.keywordLocation) is not in the schema: \(violation)")
    invariant(!violation.reason.isEmpty, "a violation without a reason: \(violation)")
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
enum JSONSchemaFuzz {
    static func main() {
        replayFiles(check)
    }
}
#endif
