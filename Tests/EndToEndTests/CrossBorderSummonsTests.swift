import Foundation
import MusterClient
import MusterStomp
import MusterTestSupport
import Testing
@testable import MusterProtocol
@testable import MusterWorkflow

/// A summons across the border on two real brokers linked over mutual TLS: Langxia town, on
/// Jinshan's broker, summons Guangchen town and Pinghu public security, both served by Pinghu's
/// broker. Pinghu's link to Jinshan's broker (what Pinghu reports back) is cut before the
/// whistle and mended after the deadline (Pinghu's broker crashes and restarts meanwhile); what
/// Jinshan's broker decides when the reports arrive, and what both brokers show, is checked.
@Suite("cross-border summons", .serialized)
struct CrossBorderSummonsTests {
    static let town = "langxia-town"
    static let guangchen = "guangchen-town"
    static let police = "pinghu-public-security"
    static let deadlineSeconds = 20

    /// Guangchen town's adapter is stomp.py on Pinghu's broker: it takes its copy, acknowledges
    /// it and reports in before the deadline, while the link is cut. Pinghu public security
    /// reports in after the deadline. Jinshan's broker escalates both at the deadline (it has
    /// heard from neither), and the escalation about Pinghu public security reaches its
    /// supervisor, Guangchen town, in its inbox on Pinghu's broker. Once the link is mended,
    /// Guangchen town is on time and Pinghu public security late, as the times on Pinghu's broker
    /// say, and `muster summons show --json` answers the same on both brokers.
    @Test func aSummonsAcrossTheBorderSurvivesACutLinkAndIsJudgedOnOriginTime() async throws {
        try await LinkedBrokers.governing { try await run($0) }
    }

    private func run(_ brokers: LinkedBrokers) async throws {
        let ready = brokers.pinghu.directory.file("adapter-ready")
        let adapter = Task { try await Self.runAdapter(on: brokers.pinghu, ready: ready) }
        try await eventually(timeout: .seconds(45), "the stomp.py adapter's subscription to its inbox on Pinghu's broker") {
            FileManager.default.fileExists(atPath: ready)
        }
        let police = try await brokers.pinghu.connect(Self.police, jurisdiction: "pinghu")
        let policeInbox = try await police.subscribe(to: "/queue/inbox.\(Self.police)", ack: .clientIndividual)

        // What Pinghu's broker reports back waits from now on.
        brokers.toPinghu.blackhole()
        try await brokers.toPinghu.cut()

        let town = try await brokers.jinshan.connect(Self.town)
        let receipt = try await WorkflowEndToEndTests.send(town, "summons", to: "/topic/summons",
                                                           WorkflowEndToEndTests.open(summoning: [Self.police, Self.guangchen], deadline: "PT\(Self.deadlineSeconds)S",
                                                                                      reminders: ["PT\(Self.deadlineSeconds / 2)S"]))
        let id = try #require(receipt[WorkflowHeader.id])
        #expect(id == "jinshan.s-1", "a summons naming parties another broker serves has its owner's prefix")

        // Pinghu's broker puts the copies in its parties' inboxes.
        let adapterRun = try await adapter.value
        let adapterReport = PythonScript.jsonLines(adapterRun.stdout).last
        #expect(adapterRun.status == 0 && adapterReport?["ok"] as? Bool == true, "the stomp.py adapter failed:\n\(adapterRun)")
        #expect(adapterReport?["summons_id"] as? String == id)
        let copy = try #require(try await policeInbox.take(1).first)
        #expect(copy.headers[WorkflowHeader.event] == "inbox-copy")
        #expect(copy.headers[WorkflowHeader.id] == id)
        #expect(copy.headers[WorkflowHeader.party] == "pinghu/\(Self.police)")
        try await police.ack(copy, receipt: true)

        // Jinshan's broker has heard from neither party when the deadline passes: it escalates both.
        let escalated = try await Self.view(of: id, on: brokers.jinshan, "jinshan") { view in
            view.parties.allSatisfy { $0.escalatedAt != nil }
        }
        #expect(escalated.parties.allSatisfy { $0.reportedInAt == nil }, "nothing crossed the cut link: \(escalated.parties)")
        // The escalation about Pinghu public security goes to its supervisor on Pinghu's broker too.
        let guangchen = try await brokers.pinghu.connect(Self.guangchen, jurisdiction: "pinghu")
        let guangchenInbox = try await guangchen.subscribe(to: "/queue/inbox.\(Self.guangchen)", ack: .auto)
        let escalation = try await Self.take(from: guangchenInbox) { $0.headers["muster-type"] == "escalation" }
        #expect(escalation.headers[WorkflowHeader.id] == id)
        #expect(escalation.headers[WorkflowHeader.party] == "pinghu/\(Self.police)")
        #expect(escalation.headers["muster-sender"] == "test-broker" && escalation.headers["muster-sender-jurisdiction"] == "jinshan"
                && escalation.headers["muster-via"] == "jinshan", "the owner of the summons escalates: \(escalation.headers)")

        // Pinghu public security reports in late, still during the cut; then Pinghu's broker crashes
        // (SIGKILL) and starts again: what it owes Jinshan's broker is in its log.
        let late = try await WorkflowEndToEndTests.send(police, "report-in", to: "/topic/report-in",
                                                        WorkflowEndToEndTests.reportIn(id, people: ["Officer Xu"], eta: "PT5M"))
        #expect(late[WorkflowHeader.id] == id)
        for connection in [police, guangchen] { try await connection.disconnect() }
        brokers.pinghu.kill()
        try await runBlocking { try brokers.restartPinghu() }

        brokers.toPinghu.pass()
        try await brokers.toPinghu.cut()
        let judged = try await Self.view(of: id, on: brokers.jinshan, "jinshan") { view in
            view.parties.allSatisfy { $0.reportedInAt != nil && $0.ackedAt != nil }
        }
        let pinghuView = try await Self.view(of: id, on: brokers.pinghu, "pinghu") { view in
            view.parties.allSatisfy { $0.reportedInAt != nil && $0.escalatedAt != nil }
        }
        for party in judged.parties {
            let reported = try #require(party.reportedInAt)
            let onTime = reported <= judged.deadline
            #expect(party.status == (onTime ? "on time" : "late"), "\(party.party) reported in at \(reported), deadline \(judged.deadline): \(party)")
            #expect(party.lateByMilliseconds == (onTime ? nil : reported - judged.deadline), "\(party)")
        }
        #expect(try WorkflowEndToEndTests.party(judged, Self.guangchen).status == "on time",
                "Guangchen town reported in during the cut, before the deadline: \(judged.parties)")
        #expect(try WorkflowEndToEndTests.party(judged, Self.police).status == "late", "\(judged.parties)")
        #expect(judged == pinghuView, "the brokers' views differ:\nJinshan: \(judged)\nPinghu: \(pinghuView)")
        #expect(judged.timeline.filter { $0.text.hasPrefix("reminded") }.count == 2, "the owner reminded both parties: \(judged.timeline)")

        // `muster summons show --json` on each broker, as the summoner there and as a summoned party here.
        let onJinshan = try await Self.show(id, on: brokers.jinshan, as: Self.town, jurisdiction: "jinshan")
        let onPinghu = try await Self.show(id, on: brokers.pinghu, as: Self.guangchen, jurisdiction: "pinghu")
        #expect(onJinshan == onPinghu, "summons show differs:\n--- Jinshan ---\n\(onJinshan)\n--- Pinghu ---\n\(onPinghu)")
        #expect(onJinshan == judged)
        try await town.disconnect()

        // An auditor holding both logs finds everything that crossed in place.
        brokers.halt()
        let verify = try await FederationVerifyTests.verify(brokers.jinshan.dataDirectory, brokers.pinghu.dataDirectory, brokers)
        #expect(verify.status == 0 && verify.stdout.contains("verified:"), "\(verify)")
    }

    // MARK: Helpers

    static func runAdapter(on broker: BrokerProcess, ready: String) async throws -> ProgramRun {
        let files = try broker.pki.client(guangchen, jurisdiction: "pinghu")
        return try await PythonScript.run("stomp_workflow.py", [broker.address.host, String(broker.address.port), files.authority,
                                                                files.certificate, files.key, "pinghu/\(guangchen)", ready],
                                          timeout: .seconds(120))
    }

    /// The summons as `broker` shows it to its summoner or a summoned party, once `condition` holds.
    static func view(of id: String, on broker: BrokerProcess, _ jurisdiction: String,
                     until condition: @escaping @Sendable (SummonsView) -> Bool) async throws -> SummonsView {
        try await CrossBorderHandoffTests.awaitView(on: broker, as: jurisdiction == "jinshan" ? town : guangchen, jurisdiction, id,
                                                    { try await WorkflowEndToEndTests.summons($0, id) }, until: condition)
    }

    static func show(_ id: String, on broker: BrokerProcess, as party: String, jurisdiction: String) async throws -> SummonsView {
        try await CrossBorderHandoffTests.muster(["summons", "show", id, "--json"], on: broker, as: party, jurisdiction).decode(SummonsView.self)
    }

    /// The first message of `subscription` that `matches` (of at most ten).
    static func take(from subscription: MessageSubscription, where matches: @escaping @Sendable (ReceivedMessage) -> Bool) async throws -> ReceivedMessage {
        var seen: [StompHeaders] = []
        for _ in 0..<10 {
            guard let message = try await subscription.take(1).first else { break }
            if matches(message) { return message }
            seen.append(message.headers)
        }
        return try #require(nil as ReceivedMessage?, "the expected message did not arrive; these did: \(seen)")
    }
}
