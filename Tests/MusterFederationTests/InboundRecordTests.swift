import MusterBroker
import MusterFederation
import MusterProtocol
import MusterStomp
import Testing

/// What an importer makes of a record its peer sent: the origin sender's publication under the
/// local name, with its origin key, link position and route — or why not.
@Suite("a record a peer sent over a link")
struct InboundRecordTests {
    static func rules(relay: Bool = false) -> FederationRules {
        FederationRules(peers: [
            FederationPeer(jurisdiction: "jinshan", address: "127.0.0.1:1", authorityPath: "ca.crt", exports: [],
                           imports: [ImportRule(destination: try! DestinationPattern("/topic/joint.report-in"), localName: try! Destination(parsing: "/topic/jinshan.report-in")),
                                     ImportRule(destination: try! DestinationPattern("/topic/joint.**"))],
                           relay: RelaySettings(enabled: relay)),
        ])
    }

    static let rules = rules()

    static func message(_ destination: String = "/topic/joint.patrol", sender: (String, String) = ("jinshan", "langxia-town"),
                        via: String? = nil, extra: [(String, String)] = []) -> StompHeaders {
        var headers: StompHeaders = [
            "subscription": "link-pinghu", "message-id": "m-7", "ack": "r1.7", "destination": destination, "redelivered": "false",
            "muster-delivery-count": "1", "muster-sender": sender.1, "muster-sender-jurisdiction": sender.0, "muster-timestamp": "1700000000000",
            "x-stream-offset": "7", "muster-link": "a1/7", "muster-origin": "a1/7", "muster-origin-hash": String(repeating: "ab", count: 32),
            "muster-type": "notice", "content-type": "application/json",
        ]
        if let via { headers["muster-via"] = via; headers["muster-origin"] = "c3/2" }
        for (name, value) in extra { headers.append(name, value) }
        return headers
    }

    @Test func anImportIsTheOriginSendersPublicationWithItsOriginKeyAndRoute() throws {
        let record = try InboundRecord(headers: Self.message(), body: Array("{}".utf8))
        #expect(record.link == ImportLink.Position(logID: "a1", offset: 7, hash: String(repeating: "ab", count: 32)))
        let publication = try record.plan(from: "jinshan", here: "pinghu", rules: Self.rules).get()
        #expect(publication.sender == PartyIdentity(jurisdiction: "jinshan", party: "langxia-town"))
        #expect(publication.destination.description == "/topic/joint.patrol")
        #expect(publication.headers["muster-origin"] == "a1/7" && publication.headers["muster-link"] == "a1/7")
        #expect(publication.headers["muster-via"] == "jinshan")
        #expect(publication.headers["muster-origin-time"] == "1700000000000")
        #expect(publication.headers["muster-type"] == "notice" && publication.headers["content-type"] == "application/json")
        #expect(publication.headers["muster-link-lane"] == nil, "the bulk lane's records carry no lane")
        let urgent = try record.plan(from: "jinshan", here: "pinghu", rules: Self.rules, lane: .urgent).get()
        #expect(urgent.headers["muster-link-lane"] == "urgent", "the urgent lane finds its position by it")
        #expect(record.refusalRecord(from: "jinshan", reason: BrokerError(.notAuthorized, "no"), broker: .broker(of: "pinghu"),
                                     lane: .urgent).headers["muster-link-lane"] == "urgent")
        for name in Set(publication.headers.entries.map(\.name)) {
            #expect(publication.headers.entries.filter { $0.name == name }.count == 1, "\(name) once")
        }
        for delivered in ["subscription", "message-id", "ack", "destination", "redelivered", "x-stream-offset", "muster-sender", "muster-timestamp"] {
            #expect(publication.headers[delivered] == nil, "\(delivered) belongs to the delivery, not the record")
        }
    }

    @Test func aRecordReadAfterAnotherKeepsItsOwnDestinationAndTimes() throws {
        let first = try InboundRecord(headers: Self.message("/topic/joint.patrol"), body: [])
        var headers = Self.message("/topic/joint.report-in", extra: [("muster-origin-time", "1600000000000"), ("muster-link-head", "90")])
        headers["muster-link"] = "a1/8"
        headers["muster-origin"] = "a1/8"
        let second = try InboundRecord(headers: headers, body: [], previous: first.asPrevious)
        #expect(second.destination.description == "/topic/joint.report-in")
        #expect(second.link.offset == 8 && second.originKey.offset == 8)
        #expect(second.originTime == "1600000000000" && second.peerLogHead == 90)
        #expect(first.originTime == "1700000000000" && first.peerLogHead == nil, "without muster-origin-time: the peer's own timestamp")
        let same = try InboundRecord(headers: Self.message("/topic/joint.patrol"), body: [], previous: first.asPrevious)
        #expect(same.destination == first.destination)
        var otherLog = Self.message()
        otherLog["muster-link"] = "a10/7"
        otherLog["muster-origin"] = "a10/7"
        #expect(try InboundRecord(headers: otherLog, body: [], previous: first.asPrevious).link.logID == "a10", "a log id the previous one starts with")
        // Read as without a previous record: only decimal digits after the slash.
        for offset in ["x", "", "\u{301}7", "18446744073709551616"] {
            otherLog["muster-link"] = "a1/\(offset)"
            otherLog["muster-origin"] = "a1/\(offset)"
            #expect(throws: BrokerError.self, "\(offset)") { try InboundRecord(headers: otherLog, body: [], previous: first.asPrevious) }
            #expect(throws: BrokerError.self, "\(offset)") { try InboundRecord(headers: otherLog, body: []) }
        }
        otherLog["muster-link"] = "a1/+7"
        otherLog["muster-origin"] = "a1/+7"
        #expect(try InboundRecord(headers: otherLog, body: [], previous: first.asPrevious).link.offset
                == InboundRecord(headers: otherLog, body: []).link.offset)
    }

    @Test func anImportRuleRenamesTheDestination() throws {
        let record = try InboundRecord(headers: Self.message("/topic/joint.report-in"), body: [])
        #expect(try record.plan(from: "jinshan", here: "pinghu", rules: Self.rules).get().destination.description == "/topic/jinshan.report-in")
    }

    @Test(arguments: [
        (message(sender: ("pinghu", "guangchen-town")), "vouches only for its own jurisdiction"),
        (message("/topic/local.notes"), "no import rule for jinshan accepts /topic/local.notes"),
        (message(sender: ("hangzhou", "x"), via: "hangzhou"), "relayed records are taken from jinshan only with relay enabled"),
    ])
    func refusals(headers: StompHeaders, reason: String) throws {
        let record = try InboundRecord(headers: headers, body: [])
        guard case .failure(let refusal) = record.plan(from: "jinshan", here: "pinghu", rules: Self.rules) else {
            Issue.record("planned instead of refused: \(headers)")
            return
        }
        #expect(refusal.message.contains(reason), "\(refusal.message)")
        let evidence = record.refusalRecord(from: "jinshan", reason: refusal, broker: PartyIdentity(jurisdiction: "pinghu", party: "broker"))
        #expect(evidence.destination == FederationHeader.refusalDestination)
        #expect(evidence.headers["muster-link"] == "a1/7" && evidence.headers["muster-import-refusal"] == refusal.message)
    }

    @Test func aRecordRelayedBackToWhereItCameFromIsALoop() throws {
        let record = try InboundRecord(headers: Self.message(sender: ("pinghu", "x"), via: "pinghu"), body: [])
        guard case .failure(let refusal) = record.plan(from: "jinshan", here: "pinghu", rules: Self.rules(relay: true)) else {
            Issue.record("a record that already crossed this broker was taken again")
            return
        }
        #expect(refusal.message.contains("a loop"), "\(refusal.message)")
    }

    @Test func aRelayedRecordKeepsItsOriginAndIsVouchedForByTheOriginWhenRelayIsOn() throws {
        let record = try InboundRecord(headers: Self.message(sender: ("hangzhou", "x"), via: "hangzhou"), body: [])
        #expect(record.link.hash == nil, "the relay's own hash is not carried")
        let publication = try record.plan(from: "jinshan", here: "pinghu", rules: Self.rules(relay: true)).get()
        #expect(publication.headers["muster-origin"] == "c3/2")
        #expect(publication.headers["muster-via"] == "hangzhou,jinshan")
    }

    @Test func aMessageWithoutALinkPositionIsNotAnExport() {
        var headers = Self.message()
        headers["muster-link"] = nil
        #expect(throws: BrokerError.self) { try InboundRecord(headers: headers, body: []) }
    }
}

/// `muster-export` and `muster-via` name jurisdictions, comma-separated.
@Suite("a list of jurisdictions in a header")
struct JurisdictionListTests {
    @Test(arguments: [
        ("pinghu", true), ("jinshan,pinghu", true), ("pinghu,jinshan", true), ("a,pinghu,b", true),
        ("pinghu2", false), ("xpinghu", false), ("jinshan", false), ("", false), (",", false), ("pinghu,", true),
    ])
    func namesAJurisdictionOnlyAsAWholeItem(list: String, names: Bool) {
        #expect(FederationHeader.list(list, names: "pinghu") == names)
        #expect(FederationHeader.list(list, names: "pinghu") == FederationHeader.jurisdictions(list).contains("pinghu"))
    }

    @Test func noHeaderNamesNoOne() {
        #expect(!FederationHeader.list(nil, names: "pinghu"))
    }
}
