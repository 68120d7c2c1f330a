import Foundation
import MusterTestSupport
import Testing

/// Durable subscriptions, NACK and dead letters through stomp.py, a STOMP client we did not
/// write, against a real broker process (Interop/stomp_durable.py).
@Suite("stomp.py durable subscriptions")
struct DurableInteropTests {
    static let subscriber = "jinshan-public-security"
    static let publisher = "langxia-town"

    /// The script's arguments after MODE, HOST and PORT: the CA and both parties' certificates.
    static func credentials(_ broker: BrokerProcess) throws -> [String] {
        let subscriber = try broker.pki.client(Self.subscriber)
        let publisher = try broker.pki.client(Self.publisher)
        return [subscriber.authority, subscriber.certificate, subscriber.key, publisher.certificate, publisher.key, Self.publisher]
    }

    /// The script's JSON lines, by scenario (the last line, without one, under "result").
    static func report(_ output: String) -> [String: [String: Any]] {
        var lines: [String: [String: Any]] = [:]
        for line in output.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            lines[object["scenario"] as? String ?? (object["phase"] as? String ?? "result")] = object
        }
        return lines
    }

    static func bodies(_ value: Any?) -> [String] {
        (value as? [[String: Any]] ?? []).compactMap { $0["body"] as? String }
    }

    @Test func stompPyResumesADurableSubscriptionNacksToTheDeadLettersAndUnsubscribesDurably() async throws {
        try await withBroker { broker in
            let arguments = ["scenarios", broker.address.host, String(broker.address.port)] + (try Self.credentials(broker))
            let result = try await PythonScript.run("stomp_durable.py", arguments)
            #expect(result.status == 0, "stomp_durable.py scenarios failed:\n\(result.output)")
            let report = Self.report(result.output)
            #expect(report["result"]?["ok"] as? Bool == true, "no passing report:\n\(result.output)")
            #expect(Self.bodies(report["resume"]?["after_reconnect"]) == ["resume 2", "resume 4", "resume 5", "resume 6"],
                    "\(result.output)")
            let redelivered = (report["resume"]?["after_reconnect"] as? [[String: Any]])?.first
            #expect(redelivered?["redelivered"] as? String == "true")
            #expect(redelivered?["delivery_count"] as? String == "2")
            let nack = report["nack"]
            #expect((nack?["redelivered"] as? [String: Any])?["delivery_count"] as? String == "2", "\(result.output)")
            let deadLetter = nack?["dead_letter"] as? [String: String]
            #expect(deadLetter?["muster-dead-letter-from"] == "/topic/durable-nack")
            #expect(deadLetter?["muster-dead-letter-offset"] == (nack?["first"] as? [String: Any])?["offset"] as? String)
            #expect(deadLetter?["muster-dead-letter-deliveries"] == "2")
            #expect(deadLetter?["muster-dead-letter-reason"]?.contains("requeue:false") == true)
            #expect(Self.bodies(report["unsubscribe"]?["subscribed_again"]) == ["cancel 4"], "\(result.output)")
        }
    }

    @Test func stompPyGetsItsUnacknowledgedDeliveriesAgainAfterTheBrokerIsKilledAndRestarted() async throws {
        let first = try await runBlocking { try BrokerProcess.start() }
        var current = first
        defer { current.stop() }
        var script: RunningProgram?
        do {
            let arguments = ["restart", first.address.host, String(first.address.port)] + (try Self.credentials(first))
            let running = try PythonScript.start("stomp_durable.py", arguments)
            script = running
            // stomp.py holds messages 2 and 4 unacknowledged, still connected, when the broker dies.
            let holding = await running.waitForOutput(containing: "\"phase\": \"holding\"", timeout: .seconds(120))
            try #require(holding, "stomp.py did not get to hold unacknowledged deliveries:\n\(running.output)")
            first.kill()
            current = try first.restart()
            running.writeLine("\(current.address.host) \(current.address.port)")
            let result = await running.finish(timeout: .seconds(300))
            #expect(result.status == 0, "stomp_durable.py restart failed:\n\(result.output)")
            let report = Self.report(result.output)
            #expect(report["result"]?["ok"] as? Bool == true, "no passing report:\n\(result.output)")
            let after = report["restart"]?["after"] as? [[String: Any]] ?? []
            #expect(Self.bodies(after) == ["restart 2", "restart 4", "restart 5", "restart 6", "restart 7"], "\(result.output)")
            #expect(after.prefix(2).allSatisfy { $0["redelivered"] as? String == "true" && $0["delivery_count"] as? String == "2" })
            #expect(after.dropFirst(2).allSatisfy { $0["redelivered"] as? String == "false" && $0["delivery_count"] as? String == "1" })
        } catch {
            Issue.record("stomp.py output:\n\(script?.output ?? "")\nbroker output before the kill:\n\(first.log)\n--- after ---\n\(current.log)")
            script?.terminate()
            throw error
        }
    }
}
