import Foundation
import MusterTestSupport
import Testing

/// `muster log checkpoint` on a running broker's host signs its log's head; `muster log verify
/// --checkpoint --ca` checks it later with only the jurisdiction's CA.
@Suite("muster log checkpoint")
struct LogCheckpointCommandTests {
    @Test func aKeptCheckpointHoldsAsTheLogGrowsAndOnlyWithItsJurisdictionsCA() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-checkpoint-command")
        let pki = try TestPKI(in: directory.file("pki"))
        let broker = try await runBlocking { try BrokerProcess.start(in: directory, jurisdiction: "jinshan", pki: pki) }
        defer { broker.stop() }
        let party = try pki.client("langxia-town")
        let connection = ["--server", "\(broker.address)", "--cert", party.certificate, "--key", party.key, "--ca", pki.authorityBundle]
        try await runMuster(["pub", "/topic/notices", "before the checkpoint"] + connection).expectSuccess("publish")

        let signed = try await runMuster(["log", "checkpoint", "--config", broker.configFile])
        #expect(signed.status == 0, "\(signed)")
        let file = directory.file("checkpoint.json")
        try signed.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(signed.stdout.utf8)) as? [String: Any], "\(signed.stdout)")
        #expect(json["format"] as? String == "muster-checkpoint/1" && json["jurisdiction"] as? String == "jinshan", "\(json)")

        try await runMuster(["pub", "/topic/notices", "after the checkpoint"] + connection).expectSuccess("publish")
        let holds = try await runMuster(["log", "verify", "--data", broker.dataDirectory, "--checkpoint", file, "--ca", pki.jinshanAuthority])
        #expect(holds.status == 0 && holds.stdout.contains("signed by muster://jinshan/broker") && holds.stdout.contains("holds"), "\(holds)")

        let otherCA = try await runMuster(["log", "verify", "--data", broker.dataDirectory, "--checkpoint", file, "--ca", pki.pinghuAuthority])
        #expect(otherCA.status != 0 && otherCA.output.contains("does not chain"), "\(otherCA)")
        let noCA = try await runMuster(["log", "verify", "--data", broker.dataDirectory, "--checkpoint", file])
        #expect(noCA.status != 0 && noCA.output.contains("--ca"), "\(noCA)")
    }

    /// `--ask`: an auditor asks the running broker, over mutual TLS, to sign its head now; the
    /// checkpoint names the head at that moment, is recorded in the log, and holds for the
    /// auditor with the CA alone. Another party is refused.
    @Test func anAuditorAsksTheRunningBrokerForACheckpointOnDemand() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-checkpoint-ask")
        let pki = try TestPKI(in: directory.file("pki"))
        let broker = try await runBlocking { try BrokerProcess.start(in: directory, jurisdiction: "jinshan", pki: pki) }
        defer { broker.stop() }
        func flags(_ party: String) throws -> [String] {
            let files = try pki.client(party)
            return ["--server", "\(broker.address)", "--cert", files.certificate, "--key", files.key, "--ca", pki.authorityBundle]
        }
        let published = try await runMuster(["pub", "/topic/notices", "on the record", "--receipt"] + flags("langxia-town"))
        try published.expectSuccess("publish")

        let asked = try await runMuster(["log", "checkpoint", "--ask"] + flags("discipline-inspector"))
        #expect(asked.status == 0, "\(asked)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(asked.stdout.utf8)) as? [String: Any], "\(asked.stdout)")
        let head = try #require(json["offset"] as? Int, "\(json)")
        let file = directory.file("asked.json")
        try asked.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let holds = try await runMuster(["log", "verify", "--data", broker.dataDirectory, "--checkpoint", file, "--ca", pki.jinshanAuthority])
        #expect(holds.status == 0 && holds.stdout.contains("holds"), "\(holds)")

        // Asked again with nothing new since, it signs again: the first checkpoint's record is the new head.
        let again = try await runMuster(["log", "checkpoint", "--ask"] + flags("discipline-inspector"))
        let second = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any], "\(again)")
        #expect(second["offset"] as? Int == head + 1, "the first checkpoint was recorded in the log: \(json) then \(second)")

        let refused = try await runMuster(["log", "checkpoint", "--ask"] + flags("langxia-town"))
        #expect(refused.status != 0 && refused.output.contains("auditor"), "\(refused)")
    }
}
