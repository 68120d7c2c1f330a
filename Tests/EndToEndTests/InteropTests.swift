import Foundation
import MusterTestSupport
import Testing

/// Interoperability with a STOMP client we did not write: Python's stomp.py.
@Suite("stomp.py interoperability")
struct InteropTests {
    func runScript(_ arguments: [String]) async throws -> ProgramRun {
        try await PythonScript.run("stomp_interop.py", arguments)
    }

    @Test func stompPyConnectsSubscribesSendsWithReceiptReceivesAndAcks() async throws {
        try await withBroker { broker in
            let files = try broker.pki.client("guangchen-town", jurisdiction: "pinghu")
            let result = try await runScript([broker.address.host, String(broker.address.port), files.certificate, files.key,
                                        files.authority, "guangchen-town"])
            #expect(result.status == 0, "stomp.py run failed:\n\(result.output)")
            #expect(result.output.contains("\"sender\": \"guangchen-town\""))
            #expect(result.output.contains("\"body_matches\": true"))
        }
    }

    @Test func stompPyWithoutACertificateIsRefused() async throws {
        try await withBroker { broker in
            let files = try broker.pki.client("guangchen-town", jurisdiction: "pinghu")
            let result = try await runScript([broker.address.host, String(broker.address.port), "", "", files.authority, "--no-cert"])
            #expect(result.status == 0, "stomp.py without a certificate should have been refused:\n\(result.output)")
            #expect(result.output.contains("\"connected\": false"))
            // The refusal itself, as the broker saw it (stomp.py does not always notice it).
            try await eventually("the broker to record the refused handshake") { broker.log.contains("the TLS handshake failed") }
        }
    }

    @Test(arguments: ["1.0", "1.1"])
    func stompPyOlderVersionsAckByMessageIDAndTheAcksTakeEffect(version: String) async throws {
        try await withBroker { broker in
            let files = try broker.pki.client("guangchen-town", jurisdiction: "pinghu")
            let result = try await PythonScript.run("stomp_versions.py", [version, broker.address.host, String(broker.address.port), files.certificate,
                                                                   files.key, files.authority, "guangchen-town"])
            #expect(result.status == 0, "stomp.py \(version) run failed:\n\(result.output)")
            #expect(result.output.contains("\"nothing_redelivered\": true"))
        }
    }
}
