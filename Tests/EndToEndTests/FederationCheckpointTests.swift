import Foundation
import MusterTestSupport
import Testing

/// Each broker signs its head into its log at an interval and sends the checkpoint over the
/// link; the peer checks the signature with the CA configured for it and stores it. An auditor
/// holding only Pinghu's log and Jinshan's CA can then check Jinshan's log.
@Suite("federation checkpoints", .tags(.federation))
struct FederationCheckpointTests {
    /// The records of `destination` in the log of `dataDirectory` (`muster log dump`).
    static func records(_ dataDirectory: String, _ destination: String) async throws -> [[String: Any]] {
        let dump = try await runMuster(["log", "dump", "--data", dataDirectory, "--destination", destination])
        return PythonScript.jsonLines(dump.stdout)
    }

    @Test func aBrokersSignedCheckpointIsStoredByItsPeerAndHoldsForAnAuditor() async throws {
        let brokers = try await LinkedBrokers.start(jinshanSettings: "log: {checkpoint-interval: 1s}")
        defer { brokers.remove() }
        var stored: [[String: Any]] = []
        do {
            try await eventually(timeout: .seconds(60), "Pinghu stores a checkpoint of Jinshan's log", pollingEvery: .milliseconds(500)) {
                stored = try await Self.records(brokers.pinghu.dataDirectory, "/topic/muster.checkpoints")
                return !stored.isEmpty
            }
        } catch {
            let lines = { (log: String) in log.split(separator: "\n").filter { $0.contains("checkpoint") || $0.contains("refused") }.joined(separator: "\n") }
            Issue.record("Jinshan:\n\(lines(brokers.jinshan.log))\nPinghu:\n\(lines(brokers.pinghu.log))")
            throw error
        }
        let copy = try #require(stored.first)
        #expect((copy["sender"] as? String)?.hasPrefix("jinshan/") == true, "\(copy)")
        let body = try #require(copy["body"] as? String, "\(copy)")
        let file = brokers.pkiDirectory.file("jinshan-checkpoint.json")
        try body.write(toFile: file, atomically: true, encoding: .utf8)
        // Jinshan's own log holds it too.
        let own = try await Self.records(brokers.jinshan.dataDirectory, "/topic/muster.checkpoints")
        #expect(own.contains { $0["body"] as? String == body }, "Jinshan's log lacks the checkpoint Pinghu stored")
        // The auditor: Pinghu's copy, Jinshan's log, Jinshan's CA.
        let holds = try await runMuster(["log", "verify", "--data", brokers.jinshan.dataDirectory, "--checkpoint", file, "--ca", brokers.pki.jinshanAuthority])
        #expect(holds.status == 0 && holds.stdout.contains("signed by muster://jinshan/broker"), "\(holds)")
        let otherCA = try await runMuster(["log", "verify", "--data", brokers.jinshan.dataDirectory, "--checkpoint", file, "--ca", brokers.pki.pinghuAuthority])
        #expect(otherCA.status != 0, "\(otherCA)")
        // Nothing more happens: the links' own bookkeeping (acknowledgements, the copies) calls for no new checkpoint.
        let signed = own.count
        try await Task.sleep(for: .seconds(3))  // three intervals: asserting that nothing happens needs a span of time
        let later = try await Self.records(brokers.jinshan.dataDirectory, "/topic/muster.checkpoints")
        #expect(later.filter { ($0["sender"] as? String)?.hasPrefix("jinshan/") == true }.count == signed, "Jinshan kept signing an idle log: \(later.count) after \(signed)")
        // Pinghu's broker, with checkpoints every 10 minutes (the default), has not sent one.
        let fromPinghu = try await Self.records(brokers.jinshan.dataDirectory, "/topic/muster.checkpoints")
        #expect(fromPinghu.allSatisfy { ($0["sender"] as? String)?.contains("pinghu") != true }, "\(fromPinghu)")
    }
}
