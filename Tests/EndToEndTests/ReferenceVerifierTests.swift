import Foundation
import MusterTestSupport
import Testing

/// The independent Python verifier (Tests/LogVerifier/verify_log.py, written from
/// Schemas/log-format.md and importing nothing of the project) reads the log a real broker
/// writes exactly as `muster log verify` does, and rejects it when one byte of a record changes.
@Suite("Reference log verifier")
struct ReferenceVerifierTests {
    static let verifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LogVerifier/verify_log.py").path

    /// Runs the verifier with MUSTER_PYTHON (else python3) on a data directory.
    static func verify(_ dataDirectory: String) async throws -> ProgramRun {
        try await runProcess("/usr/bin/env", [ProcessInfo.processInfo.environment["MUSTER_PYTHON"] ?? "python3", verifier, dataDirectory])
    }

    @Test func acceptsTheLogABrokerWroteAndRejectsItWithOneByteFlipped() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-reference-verifier")
        defer { directory.remove() }
        let broker = try await runBlocking { try BrokerProcess.start(in: directory) }
        do {
            let town = try await broker.connect("langxia-town")
            for number in 1...5 {
                try await town.publish(to: "/topic/notices", text: "notice \(number)", receipt: true)
            }
            try await town.disconnect()
        } catch {
            broker.stop(removingDirectory: false)
            throw error
        }
        #expect(broker.stop(removingDirectory: false) == 0, "\(broker.log)")
        let data = broker.dataDirectory

        // Accepted, with the same record count and head as the broker's own verifier.
        let accepted = try await Self.verify(data)
        #expect(accepted.status == 0, "verify_log.py refused the broker's log:\n\(accepted.output)")
        let swift = try await runMuster(["log", "verify", "--data", data])
        #expect(swift.status == 0, "\(swift.output)")
        let lines = accepted.output.split(separator: "\n").map(String.init)
        let records = try #require(lines.first { $0.hasPrefix("records ") }.flatMap { Int($0.dropFirst("records ".count)) }, "\(accepted.output)")
        #expect(records >= 5, "\(accepted.output)")
        #expect(swift.output.contains("verified \(records) records"), "both count the same records:\n\(accepted.output)\n\(swift.output)")
        let head = try #require(lines.first { $0.hasPrefix("head ") }, "\(accepted.output)")
        #expect(swift.output.split(separator: "\n").contains { $0 == head }, "both name the same head:\n\(accepted.output)\n\(swift.output)")

        // A copy of the log with one byte flipped inside the first record: rejected, naming it.
        let copy = directory.file("flipped")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(data)/log", toPath: "\(copy)/log")
        let segments = try FileManager.default.contentsOfDirectory(atPath: "\(copy)/log")
            .filter { $0.wholeMatch(of: /[0-9]{20}\.log/) != nil }.sorted()
        let first = try #require(segments.first, "no segment in \(data)/log")
        let segment = "\(copy)/log/\(first)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        // Segment header (72 bytes), record header (64 bytes), then the payload: its destination.
        let position = 72 + 64 + 4
        #expect(bytes.count > position)
        bytes[position] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: segment))
        let rejected = try await Self.verify(copy)
        #expect(rejected.status == 1, "verify_log.py accepted a log with a flipped byte:\n\(rejected.output)")
        #expect(rejected.output.contains("BAD at offset 0"), "\(rejected.output)")
    }
}
