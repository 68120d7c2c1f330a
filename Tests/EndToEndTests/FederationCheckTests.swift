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
        let broker = try BrokerProcess.start(in: directory, settings: settings)
        defer { broker.stop() }
        let check = try await runMuster(["policy", "check", "--config", broker.configFile])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("federation peer pinghu (muster://pinghu/broker, CA \(directory.path)/pinghu/ca.crt): 1 export rule, 2 import rules, "
                                      + "imports by connecting to 127.0.0.1:61999, relay off"), "\(check.output)")
    }
}
