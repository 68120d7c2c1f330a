import Foundation
import MusterTestSupport
import Testing

/// Interoperability with a STOMP client we did not write: Python's stomp.py.
@Suite("stomp.py interoperability")
struct InteropTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Interop/stomp_interop.py").path

    func runScript(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [ProcessInfo.processInfo.environment["MUSTER_PYTHON"] ?? "python3", Self.script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func stompPyConnectsSubscribesSendsWithReceiptReceivesAndAcks() async throws {
        try await withBroker { broker in
            let files = try broker.pki.client("guangchen-town", jurisdiction: "pinghu")
            let result = try runScript([broker.address.host, String(broker.address.port), files.certificate, files.key,
                                        files.authority, "guangchen-town"])
            #expect(result.status == 0, "stomp.py run failed:\n\(result.output)")
            #expect(result.output.contains("\"sender\": \"guangchen-town\""))
            #expect(result.output.contains("\"body_matches\": true"))
        }
    }

    @Test func stompPyWithoutACertificateIsRefused() async throws {
        try await withBroker { broker in
            let files = try broker.pki.client("guangchen-town", jurisdiction: "pinghu")
            let result = try runScript([broker.address.host, String(broker.address.port), "", "", files.authority, "--no-cert"])
            #expect(result.status == 0, "stomp.py without a certificate should have been refused:\n\(result.output)")
            #expect(result.output.contains("\"connected\": false"))
        }
    }
}
