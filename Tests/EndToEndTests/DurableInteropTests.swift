import Foundation
import MusterTestSupport
import Synchronization
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
            let result = try await runBlocking { try runPythonScript("stomp_durable.py", arguments) }
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
        let first = try BrokerProcess.start()
        var current = first
        defer { current.stop() }
        var script: InteractiveScript?
        do {
            let arguments = ["restart", first.address.host, String(first.address.port)] + (try Self.credentials(first))
            let running = try InteractiveScript(runPythonScript: "stomp_durable.py", arguments)
            script = running
            // stomp.py holds messages 2 and 4 unacknowledged, still connected, when the broker dies.
            let holding = try await runBlocking { running.waitForOutput(containing: "\"phase\": \"holding\"", timeout: .seconds(120)) }
            try #require(holding, "stomp.py did not get to hold unacknowledged deliveries:\n\(running.output)")
            first.kill()
            current = try first.restart()
            running.writeLine("\(current.address.host) \(current.address.port)")
            let result = try await runBlocking { running.waitForEnd() }
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

/// A script run with its standard input open, so a test can answer it while it runs; its
/// standard output and error are collected together.
final class InteractiveScript: @unchecked Sendable {
    private let process: Process
    private let input: Pipe
    private let collected = CollectedOutput()
    private let changed = DispatchSemaphore(value: 0)

    /// Starts a script of Tests/EndToEndTests/Interop with MUSTER_PYTHON (else python3).
    convenience init(runPythonScript name: String, _ arguments: [String]) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/\(name)").path
        try self.init("/usr/bin/env", [ProcessInfo.processInfo.environment["MUSTER_PYTHON"] ?? "python3", script] + arguments)
    }

    init(_ executable: String, _ arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [collected, changed] handle in
            let data = handle.availableData
            collected.state.withLock { state in
                if data.isEmpty {
                    state.ended = true
                    handle.readabilityHandler = nil
                } else {
                    state.text += String(decoding: data, as: UTF8.self)
                }
            }
            changed.signal()
        }
        try process.run()
    }

    /// Everything printed so far.
    var output: String { collected.state.withLock { $0.text } }

    /// Blocks until the output contains `marker` (true), or the script's output ends or
    /// `timeout` passes (false).
    func waitForOutput(containing marker: String, timeout: Duration) -> Bool {
        let deadline = DispatchTime.now() + .milliseconds(Int(timeout / .milliseconds(1)))
        while true {
            let (found, ended) = collected.state.withLock { ($0.text.contains(marker), $0.ended) }
            if found { return true }
            if ended || changed.wait(timeout: deadline) == .timedOut { return false }
        }
    }

    func writeLine(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Closes its standard input and blocks until it ends; its exit status and all its output.
    /// One still running after `timeout` is terminated (a deadline only turns a hang into a failure).
    func waitForEnd(timeout: Duration = .seconds(300)) -> (status: Int32, output: String) {
        try? input.fileHandleForWriting.close()
        let deadline = DispatchTime.now() + .milliseconds(Int(timeout / .milliseconds(1)))
        while !collected.state.withLock({ $0.ended }) {
            if changed.wait(timeout: deadline) == .timedOut {
                terminate()
                break
            }
        }
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    func terminate() {
        if process.isRunning { process.terminate() }
    }
}

/// What a script printed so far, and whether its output has ended.
final class CollectedOutput: Sendable {
    let state = Mutex((text: "", ended: false))
}
