import Foundation
import Testing
@testable import MusterBroker
@testable import MusterServer
import MusterStomp
@testable import MusterProtocol
@testable import MusterSchema

/// The shipped Jinshan–Pinghu configuration (Config/parties.yaml, Config/topics.yaml and the
/// Schemas) allows exactly what the comments in Config/topics.yaml say.
@Suite("Shipped policy")
struct ShippedPolicyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The shipped policy without its certificate authorities (their files are made by `muster certs init`).
    static func shippedPolicy() throws -> Policy {
        let files = PolicyFiles(partiesFile: "\(root)/Config/parties.yaml", topicsFile: "\(root)/Config/topics.yaml", schemasDirectory: "\(root)/Schemas")
        let parties = try PartyDirectory.load(file: files.partiesFile)
        let topics = try TopicConfiguration.load(file: files.topicsFile, parties: parties)
        var schemas: [String: JSONSchema] = [:]
        for type in Set(topics.flatMap(\.types)) {
            schemas[type] = try PolicyLoader.loadSchema(files.schemaFile(for: type), from: files.topicsFile, key: "types")
        }
        return Policy(parties: parties.parties.map(\.registered), topics: topics, schemas: schemas, trust: CertificateTrust())
    }

    /// The first example of a type's schema (with `action`, when given), as a body.
    static func example(_ type: String, action: String? = nil, changing changes: [String: String] = [:]) throws -> [UInt8] {
        let schema = try JSONSchema(contentsOfFile: "\(root)/Schemas/\(type).schema.json")
        let chosen = try #require(schema.examples.first { example in
            guard let action else { return true }
            if case .object(let object) = example, object["action"] == .string(action) { return true }
            return false
        })
        guard case .object(let object) = chosen, !changes.isEmpty else { return Array(chosen.jsonText.utf8) }
        let pairs = object.members.map { member in (member.key, changes[member.key].map(JSONValue.string) ?? member.value) }
        return Array(JSONValue.object(JSONObject(pairs)).jsonText.utf8)
    }

    private func party(_ id: String) throws -> PartyIdentity {
        try #require(try Self.shippedPolicy().parties.keys.first { $0.party == id })
    }

    private func publish(_ id: String, _ destination: String, _ body: [UInt8], type: String? = nil) throws -> Result<(Publication, PolicyGrant), PolicyRefusal> {
        var headers = StompHeaders()
        if let type { headers.append(ReservedHeader.type, type) }
        let publication = Publication(destination: try Destination(parsing: destination), headers: headers, body: body, sender: try party(id))
        return try Self.shippedPolicy().decidePublish(publication)
    }

    private func subscribe(_ id: String, _ destination: String) throws -> ErrorCode? {
        try Self.shippedPolicy().decideSubscribe(try Destination(parsing: destination), by: try party(id)).refusal?.code
    }

    @Test func everyShippedExampleIsValidByItsSchema() throws {
        for type in ["summons", "report-in", "escalation", "evaluation", "handoff", "joint-operation", "complaint"] {
            let schema = try JSONSchema(contentsOfFile: "\(Self.root)/Schemas/\(type).schema.json")
            #expect(!schema.examples.isEmpty, "\(type) ships examples")
            for example in schema.examples { #expect(schema.validate(example) == nil, "\(type): \(example.jsonText.prefix(80))") }
        }
    }

    @Test func townshipsBlowTheWhistleAndEveryoneListens() throws {
        #expect(try publish("langxia-town", "/topic/summons", Self.example("summons", action: "open")).refusal == nil)
        #expect(try publish("joint-command", "/topic/summons", Self.example("summons", action: "open")).refusal == nil)
        // Summoned departments post progress notes on the summons topic; the summons workflow (not
        // the topic rule) refuses an open from a department (WorkflowSummonsTests).
        #expect(try publish("jinshan-public-security", "/topic/summons", Self.example("summons", action: "progress")).refusal == nil)
        #expect(try publish("discipline-inspector", "/topic/summons", Self.example("summons", action: "progress")).refusal?.code == .notAuthorized)
        #expect(try subscribe("langxia-agri-coop", "/topic/summons") == nil)
    }

    @Test func summonedPartiesReportInAndSummonersRead() throws {
        #expect(try publish("jinshan-public-security", "/topic/report-in", Self.example("report-in")).refusal == nil)
        #expect(try publish("langxia-agri-coop", "/topic/report-in", Self.example("report-in")).refusal == nil)
        #expect(try subscribe("guangchen-town", "/topic/report-in") == nil)
        #expect(try subscribe("langxia-agri-coop", "/topic/report-in") == .notAuthorized)
    }

    @Test func nobodyPublishesEscalations() throws {
        #expect(try publish("joint-command", "/topic/escalation", Self.example("escalation")).refusal?.code == .notAuthorized)
        #expect(try subscribe("langxia-town", "/topic/escalation") == nil)
    }

    @Test func onlySummonersEvaluate() throws {
        #expect(try publish("langxia-town", "/topic/evaluation", Self.example("evaluation")).refusal == nil)
        #expect(try publish("jinshan-public-security", "/topic/evaluation", Self.example("evaluation")).refusal?.code == .notAuthorized)
    }

    @Test func theGridsInboxAdmitsOnlyListedTasksFromItsTownship() throws {
        let drain = try Self.example("handoff", action: "dispatch", changing: ["taskType": "drain-clearing", "assignee": "shanta-village-grid"])
        let census = try Self.example("handoff", action: "dispatch", changing: ["taskType": "census-form", "assignee": "shanta-village-grid"])
        #expect(try publish("langxia-town", "/queue/inbox.shanta-village-grid", drain, type: "handoff").refusal == nil)
        #expect(try publish("langxia-town", "/queue/inbox.shanta-village-grid", census, type: "handoff").refusal?.code == .notAdmitted)
        #expect(try publish("jinshan-public-security", "/queue/inbox.shanta-village-grid", drain, type: "handoff").refusal?.code == .notAdmitted)
        #expect(try publish("jinshan-public-security", "/queue/inbox.shanta-village-grid", Self.example("summons", action: "open"), type: "summons").refusal?.code == .notAdmitted,
                "only townships and the joint command may summon the grid")
        #expect(try subscribe("shanta-village-grid", "/queue/inbox.shanta-village-grid") == nil)
        #expect(try subscribe("langxia-town", "/queue/inbox.shanta-village-grid") == .notAuthorized)
    }

    @Test func everyOtherInboxBelongsToItsParty() throws {
        #expect(try subscribe("jinshan-public-security", "/queue/inbox.jinshan-public-security") == nil)
        #expect(try subscribe("guangchen-town", "/queue/inbox.jinshan-public-security") == .notAuthorized)
        #expect(try publish("langxia-town", "/queue/inbox.jinshan-public-security", Self.example("summons", action: "open"), type: "summons").refusal == nil)
        #expect(try publish("langxia-agri-coop", "/queue/inbox.jinshan-public-security", Self.example("summons", action: "open"), type: "summons").refusal?.code == .notAuthorized)
    }

    @Test func jointOperationsSpanBothJurisdictions() throws {
        let notice = try Self.example("joint-operation", action: "notice")
        #expect(try publish("pinghu-public-security", "/topic/joint.op-0015", notice).refusal == nil)
        #expect(try publish("langxia-town", "/topic/joint.op-0015", notice).refusal == nil)
        #expect(try publish("langxia-agri-coop", "/topic/joint.op-0015", notice).refusal?.code == .notAuthorized)
        #expect(try subscribe("guangchen-town", "/topic/joint.op-0015") == nil)
    }

    @Test func citizenComplaintsComeFromTheJointCommand() throws {
        #expect(try publish("joint-command", "/queue/complaints", Self.example("complaint")).refusal == nil)
        #expect(try publish("langxia-town", "/queue/complaints", Self.example("complaint")).refusal?.code == .notAuthorized)
        #expect(try subscribe("langxia-town", "/queue/complaints") == nil)
    }

    @Test func noticesAreOpenToEveryPartyButAuditors() throws {
        #expect(try publish("langxia-agri-coop", "/topic/notices", Array("联合巡逻 08:00".utf8)).refusal == nil)
        #expect(try publish("discipline-inspector", "/topic/notices", Array("x".utf8)).refusal?.code == .notAuthorized)
    }

    @Test func auditorsReadEverything() throws {
        for destination in ["/queue/inbox.langxia-town", "/topic/muster.audit.refusals", "/queue/muster.dead-letters", "/topic/undeclared"] {
            #expect(try subscribe("discipline-inspector", destination) == nil, "\(destination)")
        }
    }

    @Test func undeclaredDestinationsAndTheAuditAreClosedToOthers() throws {
        #expect(try publish("langxia-town", "/topic/undeclared", Array("x".utf8)).refusal?.code == .notAuthorized)
        #expect(try subscribe("langxia-town", "/topic/muster.audit.refusals") == .notAuthorized)
        #expect(try subscribe("joint-command", "/queue/muster.dead-letters") == nil)
        #expect(try subscribe("langxia-town", "/queue/muster.dead-letters") == .notAuthorized)
    }
}
