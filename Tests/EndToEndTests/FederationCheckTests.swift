import Foundation
import MusterTestSupport
import Testing

/// A broker starts with `federation:` peers, and `muster policy check` lists them.
@Suite("federation peers in muster policy check")
struct FederationCheckTests {
    @Test func policyCheckListsEachPeerWithItsRules() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-broker")
        let settings = """
            federation:
              peers:
                - jurisdiction: pinghu
                  address: 127.0.0.1:61999
                  ca: \(directory.path)/pinghu/ca.crt
                  export: [{destination: "/topic/joint.*", types: [notice]}]
                  import: [{destination: "/topic/joint.**"}, {destination: /topic/joint.report-in, as: /topic/pinghu.report-in}]
            """
        let broker = try await runBlocking { try BrokerProcess.start(in: directory, settings: settings) }
        defer { broker.stop() }
        let check = try await runMuster(["policy", "check", "--config", broker.configFile])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("federation peer pinghu (muster://pinghu/broker, CA \(directory.path)/pinghu/ca.crt): 1 export rule, 2 import rules, "
                                      + "imports by connecting to 127.0.0.1:61999, relay off"), "\(check.output)")
    }

    /// SIGHUP re-reads the peers from muster.yaml; a mistake there rejects the reload, naming it.
    @Test func aReloadReadsThePeersAgainAndRefusesAMistake() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-broker")
        let broker = try await runBlocking { try BrokerProcess.start(in: directory) }
        defer { broker.stop() }
        #expect(broker.log.contains("peers=none [MusterServer] federation"), "no peers at start:\n\(broker.log)")
        let original = try String(contentsOfFile: broker.configFile, encoding: .utf8)
        try (original + "\nfederation: {peers: [{jurisdiction: pinghu, ca: \(directory.path)/pinghu/ca.crt}]}\n")
            .write(toFile: broker.configFile, atomically: true, encoding: .utf8)
        #expect(try await broker.reload() == "reloaded")
        try await eventually("the reloaded peers in the broker's log") { broker.log.contains("peers=pinghu [MusterServer] federation reloaded") }

        try (original + "\nfederation: {peers: [{jurisdiction: pinghu, ca: \(directory.path)/pinghu/ca.crt, exprot: []}]}\n")
            .write(toFile: broker.configFile, atomically: true, encoding: .utf8)
        let rejected = try await broker.reload()
        #expect(rejected.hasPrefix("rejected") && rejected.contains("federation.peers[0].exprot"), "\(rejected)")
    }
}
