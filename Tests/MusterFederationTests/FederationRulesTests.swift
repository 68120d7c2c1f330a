import MusterBroker
import MusterFederation
import MusterProtocol
import Testing

/// What goes to which peer, and under which name a peer's record is kept: decided when a
/// record is appended.
@Suite("federation rules")
struct FederationRulesTests {
    static let langxia = RegisteredParty(identity: PartyIdentity(jurisdiction: "jinshan", party: "langxia-town"), name: "廊下镇", kind: .township)
    static let police = RegisteredParty(identity: PartyIdentity(jurisdiction: "jinshan", party: "jinshan-public-security"), name: "", kind: .department)

    static func peer(_ jurisdiction: String, relay: RelaySettings = RelaySettings()) throws -> FederationPeer {
        FederationPeer(
            jurisdiction: jurisdiction, address: nil, authorityPath: "\(jurisdiction)-ca.crt",
            exports: [ExportRule(destination: try DestinationPattern("/topic/joint.*"), types: ["notice"],
                                 senders: [PartySelector(kinds: [.township])])],
            imports: [ImportRule(destination: try DestinationPattern("/topic/joint.report-in"), localName: try Destination(parsing: "/topic/\(jurisdiction).report-in")),
                      ImportRule(destination: try DestinationPattern("/topic/joint.**"))],
            relay: relay)
    }

    func record(_ destination: String, type: String? = "notice", sender: RegisteredParty? = langxia, via: [String] = []) throws -> FederationRules.Record {
        FederationRules.Record(destination: try Destination(parsing: destination), type: type, sender: sender, via: via)
    }

    @Test func aLocalRecordGoesToEveryPeerWhoseExportRuleMatches() throws {
        let rules = FederationRules(peers: [try Self.peer("pinghu"), try Self.peer("jiaxing")])
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol")) == ["pinghu", "jiaxing"])
        #expect(rules.exportTargets(of: try record("/topic/local.patrol")).isEmpty, "destination not exported")
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol", type: "report-in")).isEmpty, "type not exported")
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol", type: nil)).isEmpty, "an untyped record when types are named")
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol", sender: Self.police)).isEmpty, "sender not selected")
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol", sender: nil)).isEmpty, "an unknown sender when senders are named")
    }

    @Test func theBrokersOwnDestinationsNeverCrossWhateverThePattern() throws {
        let everything = FederationPeer(jurisdiction: "pinghu", address: nil, authorityPath: "ca.crt",
                                        exports: [ExportRule(destination: try DestinationPattern("/topic/**"))],
                                        imports: [ImportRule(destination: try DestinationPattern("/topic/**"))])
        let rules = FederationRules(peers: [everything])
        #expect(rules.exportTargets(of: try record("/topic/muster.log.identity", type: nil)).isEmpty)
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol", type: nil)) == ["pinghu"])
        #expect(rules.importDestination(from: "pinghu", try Destination(parsing: "/topic/muster.audit.refusals")) == nil)
    }

    @Test func splitHorizonAnImportedRecordIsNotExportedWithoutRelay() throws {
        let rules = FederationRules(peers: [try Self.peer("pinghu"), try Self.peer("jiaxing")])
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol", via: ["pinghu"])).isEmpty)
    }

    @Test func relayPassesOnWithinTheHopLimitAndNeverBack() throws {
        let relaying = RelaySettings(enabled: true, hopLimit: 2)
        let rules = FederationRules(peers: [try Self.peer("pinghu", relay: relaying), try Self.peer("jiaxing", relay: relaying)])
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol", via: ["pinghu"])) == ["jiaxing"], "not back to where it came from")
        #expect(rules.exportTargets(of: try record("/topic/joint.patrol", via: ["hangzhou", "pinghu"])).isEmpty, "hop limit reached")
    }

    @Test func aRecordIsUrgentForAPeerWhenItsTypeIsOneOfThatPeersUrgentTypes() throws {
        var quick = LinkSettings()
        quick.urgentTypes = ["notice"]
        let pinghu = try Self.peer("pinghu")
        let jiaxing = FederationPeer(jurisdiction: "jiaxing", address: nil, authorityPath: "ca.crt", exports: pinghu.exports, imports: [], link: quick)
        let rules = FederationRules(peers: [pinghu, jiaxing])
        #expect(!rules.isUrgent(try record("/topic/joint.patrol"), to: "pinghu"), "notices are bulk by default")
        #expect(rules.isUrgent(try record("/topic/joint.patrol", type: "summons"), to: "pinghu"), "summonses are urgent by default")
        #expect(rules.isUrgent(try record("/topic/joint.patrol"), to: "jiaxing"))
        #expect(!rules.isUrgent(try record("/topic/joint.patrol", type: nil), to: "jiaxing"), "an untyped record is bulk")
    }

    @Test func importsAreRenamedByTheFirstMatchingRuleOrRefused() throws {
        let rules = FederationRules(peers: [try Self.peer("pinghu")])
        #expect(rules.importDestination(from: "pinghu", try Destination(parsing: "/topic/joint.report-in"))?.description == "/topic/pinghu.report-in")
        #expect(rules.importDestination(from: "pinghu", try Destination(parsing: "/topic/joint.patrol"))?.description == "/topic/joint.patrol")
        #expect(rules.importDestination(from: "pinghu", try Destination(parsing: "/topic/local.patrol")) == nil, "no import rule")
        #expect(rules.importDestination(from: "jiaxing", try Destination(parsing: "/topic/joint.patrol")) == nil, "not a peer")
    }
}
