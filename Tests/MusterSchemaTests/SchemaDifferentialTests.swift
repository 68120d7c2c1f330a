import Foundation
import Testing
@testable import MusterSchema

/// Our validator against Python's jsonschema (Draft202012Validator with its format checker)
/// on every schema of the repository's Schemas/ folder and a keyword corpus: each schema's
/// examples and a few hundred near misses of them (Differential/near_misses.py).
///
/// Needs Python 3 with `jsonschema[format-nongpl]>=4.18` (Tests/run installs it); set
/// MUSTER_PYTHON to use another interpreter. The script refuses to run without the format
/// checkers, and then this test fails saying what to install.
@Suite("Schema differential against Python's jsonschema")
struct SchemaDifferentialTests {
    static let differentialDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Differential")
    static let repositoryDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Schemas/*.schema.json, then the keyword corpus, as absolute paths.
    static func schemaPaths() throws -> [String] {
        func schemas(in directory: URL) throws -> [String] {
            guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
            return try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".schema.json") }.sorted()
                .map { directory.appendingPathComponent($0).path }
        }
        return try schemas(in: repositoryDirectory.appendingPathComponent("Schemas"))
            + schemas(in: differentialDirectory.appendingPathComponent("keyword-schemas"))
    }

    static func relative(_ path: String) -> String {
        let prefix = repositoryDirectory.path + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    @Test func everySchemaCompilesAndItsExamplesAreValid() throws {
        let paths = try SchemaDifferentialTests.schemaPaths()
        #expect(!paths.isEmpty, "no *.schema.json found in Schemas/ or the keyword corpus")
        for path in paths {
            let name = SchemaDifferentialTests.relative(path)
            let schema: JSONSchema
            do {
                schema = try JSONSchema(contentsOfFile: path)
            } catch {
                Issue.record("\(error)")
                continue
            }
            #expect(!schema.examples.isEmpty, "\(name) has no root examples; add some so it can be tested against Python's jsonschema")
            for (index, example) in schema.examples.enumerated() {
                let violation = schema.validate(example)
                #expect(violation == nil, "\(name) example \(index) is invalid: \(violation.map(String.init(describing:)) ?? "")")
            }
        }
    }

    @Test func agreesWithPythonJSONSchemaOnExamplesAndNearMisses() async throws {
        let paths = try SchemaDifferentialTests.schemaPaths()
        try #require(!paths.isEmpty, "no *.schema.json found in Schemas/ or the keyword corpus")
        // Python runs for seconds: waited for on a thread of its own, not on one of the test
        // runner's few shared threads, which every other test's awaits need.
        let run = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try SchemaDifferentialTests.runNearMisses(paths) }) }
        }
        try #require(run.status == 0, "near_misses.py failed (exit \(run.status)):\n\(run.errors)")

        var schemas: [String: JSONSchema] = [:]
        for path in paths { schemas[path] = try JSONSchema(contentsOfFile: path) }
        var checked: [String: Int] = [:]
        var disagreements: [String] = []
        for line in run.output.split(separator: "\n") {
            let record = try JSONParser.parse(line.utf8)
            guard case .string(let path)? = record["schema"], case .bool(let pythonValid)? = record["valid"],
                  let instance = record["instance"], let schema = schemas[path] else {
                Issue.record("near_misses.py printed an unexpected line: \(line)")
                continue
            }
            checked[path, default: 0] += 1
            let violation = schema.validate(instance)
            guard (violation == nil) != pythonValid else { continue }
            let mutation = record["mutation"].map { "\($0)" } ?? ""
            let ours = violation.map { "invalid at \"\($0.pointer)\" (\($0.keywordLocation)): \($0.reason)" } ?? "valid"
            disagreements.append("""
                \(SchemaDifferentialTests.relative(path)) \(mutation)
                  instance: \(ValueQuote.short(instance).count < 200 ? instance.jsonText : String(instance.jsonText.prefix(400)))
                  Python jsonschema: \(pythonValid ? "valid" : "invalid"); Muster: \(ours)
                """)
        }
        for path in paths {
            #expect(checked[path, default: 0] > 0, "near_misses.py produced nothing for \(SchemaDifferentialTests.relative(path))")
        }
        let total = checked.values.reduce(0, +)
        if !disagreements.isEmpty {
            Issue.record("\(disagreements.count) of \(total) instances judged differently:\n\(disagreements.joined(separator: "\n"))")
        }
        print("Schema differential: \(total) instances over \(paths.count) schemas, \(disagreements.count) disagreements")
    }

    /// Runs near_misses.py over the schemas; stderr goes to a file so a full stdout pipe
    /// cannot deadlock the two processes.
    static func runNearMisses(_ paths: [String]) throws -> (status: Int32, output: String, errors: String) {
        let python = ProcessInfo.processInfo.environment["MUSTER_PYTHON"] ?? "python3"
        let script = differentialDirectory.appendingPathComponent("near_misses.py").path
        let errorsFile = FileManager.default.temporaryDirectory.appendingPathComponent("near-misses-\(UUID().uuidString).stderr")
        _ = FileManager.default.createFile(atPath: errorsFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorsFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script] + paths
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorsFile)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = (try? String(contentsOf: errorsFile, encoding: .utf8)) ?? ""
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), errors)
    }
}
