import Testing
@testable import MusterBroker
import MusterStomp
import Synchronization
@testable import MusterProtocol

@Suite("Policy: publishing")
struct PolicyPublishingTests {
    @Test func allowsADeclaredTypedPublicationAndStampsItsType() throws {
        let policy = try testPolicy()
        let decision = policy.decidePublish(try send("/topic/evaluation", #"{"summonsId": "s-1", "score": 4}"#))
        let (allowed, grant) = try decision.get()
        #expect(allowed.headers[ReservedHeader.type] == "evaluation")
        #expect(grant.rule.contains("topics[0]"))
        #expect(grant.type == "evaluation")
    }

    @Test func refusesAnUndeclaredDestinationByDefault() throws {
        let refusal = try #require(try testPolicy().decidePublish(try send("/topic/anything", "hi")).refusal)
        #expect(refusal.code == .notAuthorized)
        #expect(refusal.rule.contains("default deny"))
        #expect(refusal.error.message.contains("/topic/anything"))
    }

    @Test func refusesAPartyTheRuleDoesNotName() throws {
        let refusal = try #require(try testPolicy().decidePublish(try send("/topic/evaluation", #"{"summonsId": "s", "score": 3}"#, from: jinshanPolice)).refusal)
        #expect(refusal.code == .notAuthorized)
        #expect(refusal.rule.contains("topics[0]"))
        #expect(refusal.error.message.contains("kind township"), "the refusal says who may publish")
    }

    @Test func refusesAuditorsEverywhere() throws {
        let refusal = try #require(try testPolicy().decidePublish(try send("/topic/notices", "hi", from: inspector)).refusal)
        #expect(refusal.code == .notAuthorized)
        #expect(refusal.rule.contains("auditor"))
    }

    @Test func refusesUnknownParties() throws {
        let refusal = try #require(try testPolicy().decidePublish(try send("/topic/notices", "hi", from: stranger)).refusal)
        #expect(refusal.code == .identityRefused)
    }

    @Test func refusesATypeTheTopicDoesNotCarry() throws {
        let policy = try testPolicy()
        let wrong = try #require(policy.decidePublish(try send("/topic/evaluation", "{}", type: "task")).refusal)
        #expect(wrong.code == .wrongType)
        let untyped = try #require(policy.decidePublish(try send("/topic/notices", "hi", type: "evaluation")).refusal)
        #expect(untyped.code == .wrongType)
        let ambiguous = try #require(policy.decidePublish(try send("/queue/inbox.langxia-town", "{}")).refusal)
        #expect(ambiguous.code == .wrongType, "a topic of several types needs muster-type")
        #expect(ambiguous.error.message.contains("muster-type"))
    }

    @Test func refusesASchemaViolationWithItsPointer() throws {
        let refusal = try #require(try testPolicy().decidePublish(try send("/topic/evaluation", #"{"summonsId": "s-1", "score": 6}"#)).refusal)
        #expect(refusal.code == .schemaViolation)
        #expect(refusal.error.message.contains("/score"))
        #expect(refusal.type == "evaluation")
    }

    @Test func refusesABodyThatIsNotJSON() throws {
        let refusal = try #require(try testPolicy().decidePublish(try send("/topic/evaluation", "score: 4")).refusal)
        #expect(refusal.code == .schemaViolation)
        #expect(refusal.error.message.contains("not JSON"))
    }

    @Test func untypedTopicsTakeAnyBody() throws {
        let (allowed, _) = try (try testPolicy()).decidePublish(try send("/topic/notices", "联合巡逻 08:00", from: guangchenTown)).get()
        #expect(allowed.headers[ReservedHeader.type] == nil)
    }

    @Test func admissionListAdmitsListedTasksFromListedSenders() throws {
        let policy = try testPolicy()
        let admitted = policy.decidePublish(try send("/queue/inbox.shanta-village-grid", #"{"taskType": "drain-clearing"}"#))
        #expect(admitted.refusal == nil)
        let (_, grant) = try admitted.get()
        #expect(grant.rule.contains("准入清单 第3项"), "the grant names the decision that admitted the task")
    }

    @Test func admissionListRefusesOtherTasks() throws {
        let refusal = try #require(try testPolicy().decidePublish(try send("/queue/inbox.shanta-village-grid", #"{"taskType": "census-form"}"#)).refusal)
        #expect(refusal.code == .notAdmitted)
        #expect(refusal.error.message.contains("census-form"))
        #expect(refusal.error.message.contains("drain-clearing"), "the refusal lists what is admitted")
    }

    @Test func admissionListRefusesListedTasksFromOtherSenders() throws {
        let refusal = try #require(try testPolicy().decidePublish(
            try send("/queue/inbox.shanta-village-grid", #"{"taskType": "drain-clearing"}"#, from: jinshanPolice)).refusal)
        #expect(refusal.code == .notAdmitted)
    }

    @Test func explainingWithoutABodySkipsTheSchemaButNotTheAdmissionList() throws {
        let policy = try testPolicy()
        let publication = try send("/queue/inbox.shanta-village-grid", "", type: "task")
        #expect(policy.decidePublish(publication, body: .skip(assumedTask: "drain-clearing")).refusal == nil)
        #expect(policy.decidePublish(publication, body: .skip(assumedTask: "census-form")).refusal?.code == .notAdmitted)
    }
}

@Suite("Policy: subscribing and connecting")
struct PolicySubscribingTests {
    @Test func inboxesBelongToTheirParty() throws {
        let policy = try testPolicy()
        let own = try Destination(parsing: "/queue/inbox.guangchen-town")
        #expect(policy.decideSubscribe(own, by: guangchenTown).refusal == nil)
        #expect(policy.decideSubscribe(own, by: langxiaTown).refusal?.code == .notAuthorized)
    }

    @Test func selectorsMatchByJurisdiction() throws {
        let policy = try testPolicy()
        let notices = try Destination(parsing: "/topic/notices")
        #expect(policy.decideSubscribe(notices, by: langxiaTown).refusal == nil)
        let refusal = try #require(policy.decideSubscribe(notices, by: guangchenTown).refusal)
        #expect(refusal.error.message.contains("jurisdiction jinshan"))
    }

    @Test func auditorsReadEverythingEvenUndeclared() throws {
        let policy = try testPolicy()
        #expect(policy.decideSubscribe(try Destination(parsing: "/queue/inbox.langxia-town"), by: inspector).refusal == nil)
        #expect(policy.decideSubscribe(RefusalRecord.destination, by: inspector).refusal == nil)
        #expect(policy.decideSubscribe(RefusalRecord.destination, by: langxiaTown).refusal?.code == .notAuthorized)
    }

    @Test func everyoneMaySubscribeToQueryReplies() throws {
        #expect(try testPolicy().decideSubscribe(try Destination(parsing: "/topic/muster.reply.x"), by: shantaGrid).refusal == nil)
    }

    private func credentials(_ identity: PartyIdentity, anchor: String, serial: String = "1f") -> ConnectionCredentials {
        ConnectionCredentials(identity: identity, subject: "CN=\(identity.party)", serialNumber: serial, issuerFingerprint: anchor, anchorFingerprint: anchor)
    }

    @Test func admitsACertificateFromItsOwnJurisdictionsCA() throws {
        let party = try testPolicy().admitConnection(credentials(langxiaTown, anchor: jinshanCA)).get()
        #expect(party.kind == .township)
    }

    @Test func refusesACertificateClaimingAnotherJurisdiction() throws {
        let refusal = try #require(try testPolicy().admitConnection(credentials(langxiaTown, anchor: pinghuCA)).refusal)
        #expect(refusal.code == .identityRefused)
        #expect(refusal.error.message.contains("jinshan's certificate authority"))
    }

    @Test func refusesUnknownPartiesAndRevokedCertificates() throws {
        #expect(try testPolicy().admitConnection(credentials(stranger, anchor: jinshanCA)).refusal?.code == .identityRefused)
        let revoked = try #require(try testPolicy(revoked: ["1f"]).admitConnection(credentials(langxiaTown, anchor: jinshanCA)).refusal)
        #expect(revoked.error.message.contains("revoked"))
        #expect(try testPolicy(revoked: ["2e"]).admitConnection(credentials(langxiaTown, anchor: jinshanCA)).refusal == nil)
    }
}

@Suite("Policy gate")
struct PolicyGateTests {
    @Test func recordsAndCountsEveryRefusalWithTheRefusedBody() throws {
        let gate = PolicyGate(try testPolicy())
        let seen = RefusalsSeen()
        gate.onRefusal { refusal, body in seen.add(refusal.code, body) }
        _ = gate.admit(try send("/topic/anything", "secret text"))
        _ = gate.checkSubscribe(try Destination(parsing: "/queue/inbox.langxia-town"), by: guangchenTown)
        #expect(gate.permitsSubscribe(try Destination(parsing: "/queue/inbox.langxia-town"), by: guangchenTown) == false)
        #expect(seen.codes == [.notAuthorized, .notAuthorized], "permitsSubscribe records nothing")
        #expect(seen.bodies.first == Array("secret text".utf8))
        #expect(gate.refusalCounts[langxiaTown]?[.notAuthorized] == 1)
        #expect(gate.refusalCounts[guangchenTown]?[.notAuthorized] == 1)
    }

    @Test func replacingThePolicyAppliesToTheNextDecision() throws {
        let gate = PolicyGate(try testPolicy())
        let publication = try send("/topic/notices", "hi")
        #expect(gate.admit(publication).refusal == nil)
        gate.replace(Policy(parties: Array(try testPolicy().parties.values), topics: [], schemas: [:], trust: CertificateTrust()))
        #expect(gate.admit(publication).refusal?.code == .notAuthorized)
    }
}

private final class RefusalsSeen: Sendable {
    private let entries = Mutex<[(ErrorCode, [UInt8]?)]>([])
    func add(_ code: ErrorCode, _ body: [UInt8]?) { entries.withLock { $0.append((code, body)) } }
    var codes: [ErrorCode] { entries.withLock { $0.map(\.0) } }
    var bodies: [[UInt8]] { entries.withLock { $0.compactMap(\.1) } }
}
