import Foundation
import MusterBroker
import MusterFederation
import MusterProtocol
import MusterServer
import MusterTestSupport
import Testing

/// `federation:` in muster.yaml: peers with their jurisdiction, address, CA, export and import
/// rules and relay; every mistake named with the file, the key and what is wrong.
@Suite("federation configuration")
struct FederationConfigurationTests {
    let directory: TemporaryDirectory
    let partiesFile: String
    let authority: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "muster-federation-config")
        partiesFile = try directory.write("""
            jurisdictions:
              - {id: jinshan, ca: /certs/jinshan/ca.crt}
              - {id: pinghu, ca: /certs/pinghu/ca.crt}
            parties:
              - {id: langxia-town, jurisdiction: jinshan, kind: township}
              - {id: guangchen-town, jurisdiction: pinghu, kind: township}
            """, to: "parties.yaml")
        authority = try TestPKI(in: directory.path).pinghuAuthority
    }

    func load(_ federation: String) throws(ConfigurationError) -> ServerConfiguration {
        let file = try! directory.write("parties: \(partiesFile)\nbroker: {jurisdiction: jinshan}\n" + federation, to: "muster.yaml")
        return try ServerConfiguration.load(file: file)
    }

    func refusal(_ federation: String) -> ConfigurationError? {
        do { _ = try load(federation); return nil } catch { return error }
    }

    @Test func aPeerWithItsRulesIsRead() throws {
        let configuration = try load("""
            federation:
              peers:
                - jurisdiction: pinghu
                  address: 127.0.0.1:61615
                  ca: \(authority)
                  export:
                    - {destination: "/topic/joint.*", types: [notice, summons], senders: [{jurisdiction: jinshan}]}
                  import:
                    - {destination: /topic/joint.report-in, as: /topic/pinghu.report-in}
                    - {destination: "/topic/joint.**"}
                  relay: {enabled: false, hop-limit: 3}
                  urgent-types: [summons, alert]
                  ack-evidence-interval: 30s
            """)
        let peer = try #require(configuration.federation.peer("pinghu"))
        #expect(peer.address == "127.0.0.1:61615" && peer.authorityPath == authority)
        #expect(peer.brokerIdentity.uri == "muster://pinghu/broker")
        #expect(peer.exportDestination(.bulk).description == "/queue/muster.export.pinghu")
        #expect(peer.exportDestination(.urgent).description == "/queue/muster.export.pinghu.urgent")
        #expect(peer.link.urgentTypes == ["summons", "alert"])
        #expect(peer.link.acknowledgementEvidenceInterval == 30_000)
        #expect(peer.exports.first?.types == ["notice", "summons"])
        #expect(peer.imports.count == 2 && peer.imports[0].localName?.description == "/topic/pinghu.report-in")
        #expect(peer.relay == RelaySettings(enabled: false, hopLimit: 3))
        #expect(try load("").federation.peers.isEmpty, "no federation: no peers")
    }

    @Test(arguments: [
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, exprot: []}]}", "federation.peers[0].exprot", "not a known setting"),
        ("federation: {peer: []}", "federation.peer", "not a known setting"),
        ("federation: {peers: [{jurisdiction: jinshan, ca: CA}]}", "federation.peers[0].jurisdiction", "own jurisdiction"),
        ("federation: {peers: [{jurisdiction: hangzhou, ca: CA}]}", "federation.peers[0].jurisdiction", "not a jurisdiction"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA}, {jurisdiction: pinghu, ca: CA}]}", "federation.peers[1].jurisdiction", "twice"),
        ("federation: {peers: [{jurisdiction: pinghu}]}", "federation.peers[0].ca", "is required"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: /nowhere/ca.crt}]}", "federation.peers[0].ca", "cannot be read"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: PARTIES}]}", "federation.peers[0].ca", "no usable CA certificate"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, address: somewhere}]}", "federation.peers[0].address", "HOST:PORT"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, export: [{destination: /exchange/x}]}]}", "federation.peers[0].export[0].destination", "/exchange/x"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, import: [{destination: \"/topic/a.*\", as: /topic/b}]}]}", "federation.peers[0].import[0].as", "pattern"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, relay: {hop-limit: 0}}]}", "federation.peers[0].relay.hop-limit", "at least 1"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, relay: {enabled: true, hops: 2}}]}", "federation.peers[0].relay.hops", "not a known setting"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, import: [{destination: /topic/muster.log.identity}]}]}", "federation.peers[0].import[0].destination", "broker's own"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, import: [{destination: /topic/a, as: /queue/muster.query}]}]}", "federation.peers[0].import[0].as", "broker's own"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, export: [{destination: /topic/a, types: []}]}]}", "federation.peers[0].export[0].types", "would export nothing"),
        ("federation: {peers: [{jurisdiction: pinghu, ca: CA, ack-evidence-interval: 10ms}]}", "federation.peers[0].ack-evidence-interval", "between 100ms and 1h"),
    ])
    func mistakesAreNamedWithTheirKey(federation: String, key: String, problem: String) {
        let error = refusal(federation.replacingOccurrences(of: "CA", with: authority).replacingOccurrences(of: "PARTIES", with: partiesFile))
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.problem.contains(problem) == true, "\(String(describing: error))")
        #expect(error?.file.hasSuffix("muster.yaml") == true)
    }
}
