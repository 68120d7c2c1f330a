import Foundation
import MusterTestSupport
import Testing

/// What the end-to-end tests expect of a `muster` run (or of a script's).
extension ProgramRun {
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// Records an issue and throws unless the run ended by itself with status 0 (later steps depend on it).
    func expectSuccess(_ what: String = "the run", sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard !succeeded else { return }
        Issue.record("\(what) failed: \(self)", sourceLocation: sourceLocation)
        throw Failed(description: "\(what) failed")
    }

    /// Expects a refusal: a non-zero exit with `code` on standard error.
    func expectRefusal(_ code: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status != 0 && !timedOut, "\(what) must be refused: \(self)", sourceLocation: sourceLocation)
        #expect(stderr.contains(code), "\(what) must be refused with \(code) on stderr: \(self)", sourceLocation: sourceLocation)
    }

    /// Ended on its own (no hang, no crash) with a non-zero status and an error on stderr naming every fragment.
    func expectFailure(naming fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!timedOut, "the run must end by itself: \(self)", sourceLocation: sourceLocation)
        #expect(signal == nil, "the run must fail with a message, not crash: \(self)", sourceLocation: sourceLocation)
        #expect(status != 0, "\(self)", sourceLocation: sourceLocation)
        #expect(!stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "stderr says why: \(self)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(stderr.contains(fragment), "stderr names \(fragment): \(self)", sourceLocation: sourceLocation)
        }
    }

    /// Standard output decoded as JSON.
    func decode<Value: Decodable>(_ type: Value.Type, sourceLocation: SourceLocation = #_sourceLocation) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(stdout.utf8))
        } catch {
            Issue.record("cannot decode \(type) from \(self): \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }
}
