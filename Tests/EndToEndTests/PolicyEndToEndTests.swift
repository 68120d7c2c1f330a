import Foundation
import MusterClient
import MusterStomp
import MusterTestSupport
import Testing
@testable import MusterBroker

/// Every policy refusal over real mutual TLS, and the audit records they leave.
@Suite("Policy end to end", .serialized)
struct PolicyEndToEndTests {
    /// A small policy over the test parties: typed evaluations and complaints, a grid inbox with an admission
    /// list, every other inbox for its own party, and free-text notices.
    static let topics = """
        topics:
          - destination: /topic/evaluation
            types: evaluation
            publish: [{kind: township}]
            subscribe: all
          - destination: /topic/complaints
            types: complaint
            publish: [{kind: township}]
            subscribe: all
          - destination: /queue/inbox.shanta-village-grid
            types: handoff
            publish: [{kind: [township, department]}]
            subscribe: [{party: shanta-village-grid}]
            admission:
              admitted:
                - {tasks: [drain-clearing], from: [{party: langxia-town}], reason: village affairs, reference: 准入清单 第3项}
          - destination: /queue/inbox.{party}
            types: [summons, handoff]
            publish: [{kind: township}]
            subscribe: self
          - destination: /topic/notices
            publish: all
            subscribe: all
        """

    static let evaluation = #"{"summonsId": "s-1042", "party": "jinshan-public-security", "score": 4, "comment": "到场及时"}"#
    /// The complaint schema's example: a typed message that starts no workflow.
    static let complaint = #"{"complaintId": "12345-SH-20250614-0081", "channel": "hotline-12345", "receivedAt": "2025-06-14T08:12:00+08:00", "citizen": {"name": "李秀英", "phone": "13800138000", "anonymous": false}, "category": "排水 (drainage)", "description": "山塘桥东侧下水道堵了三天，昨晚下雨后污水漫到路上，老人出门不方便。", "location": {"name": "山塘村山塘桥东侧 (east of Shanta bridge)", "address": "上海市金山区廊下镇山塘村"}, "desiredOutcome": "尽快疏通，以后定期清理。"}"#

    static func dispatch(task: String) -> String {
        """
        {"action": "dispatch", "taskType": "\(task)", "title": "疏通山塘村排水沟", "description": "12345 热线：村口排水沟堵塞",
         "assignee": "shanta-village-grid", "due": "P1D", "reference": "12345-20261121-0042"}
        """
    }

    @Test func allowedTypedMessagesArriveWithTheirTypeAndSender() async throws {
        try await withBroker(topics: Self.topics) { broker in
            let police = try await broker.connect("jinshan-public-security")
            let complaints = try await police.subscribe(to: "/topic/complaints")
            let town = try await broker.connect("langxia-town")
            try await town.publish(to: "/topic/complaints", text: Self.complaint, receipt: true)
            let message = try #require(try await complaints.take(1).first)
            #expect(message.headers["muster-type"] == "complaint")
            #expect(message.headers["muster-sender"] == "langxia-town")
            #expect(message.headers["muster-sender-jurisdiction"] == "jinshan")
            try await town.disconnect()
            try await police.disconnect()
        }
    }

    @Test func everyRefusalSaysWhichRuleRefusedAndWhy() async throws {
        try await withBroker(topics: Self.topics) { broker in
            await expectRefusal("not-authorized", containing: ["/topic/undeclared", "default deny"]) {
                try await broker.connect("langxia-town").publish(to: "/topic/undeclared", text: "x", receipt: true)
            }
            await expectRefusal("not-authorized", containing: ["topics[0]", "kind township"]) {
                try await broker.connect("jinshan-public-security").publish(to: "/topic/evaluation", text: Self.evaluation, receipt: true)
            }
            await expectRefusal("not-authorized", containing: ["inbox.langxia-town"]) {
                let stranger = try await broker.connect("guangchen-town", jurisdiction: "pinghu")
                _ = try await stranger.subscribe(to: "/queue/inbox.langxia-town").take(1)
            }
            await expectRefusal("wrong-type", containing: ["summons"]) {
                try await broker.connect("langxia-town").publish(to: "/topic/evaluation", text: Self.evaluation,
                                                                 headers: ["muster-type": "summons"], receipt: true)
            }
            await expectRefusal("schema-violation", containing: ["/score"]) {
                try await broker.connect("langxia-town").publish(to: "/topic/evaluation", text: Self.evaluation.replacingOccurrences(of: "4", with: "9"), receipt: true)
            }
            await expectRefusal("not-admitted", containing: ["census-form", "drain-clearing"]) {
                try await broker.connect("langxia-town").publish(to: "/queue/inbox.shanta-village-grid", text: Self.dispatch(task: "census-form"), receipt: true)
            }
            await expectRefusal("not-admitted") {
                try await broker.connect("jinshan-public-security").publish(to: "/queue/inbox.shanta-village-grid", text: Self.dispatch(task: "drain-clearing"), receipt: true)
            }
            await expectRefusal("reserved-header") {
                try await broker.connect("langxia-town").publish(to: "/topic/notices", text: "x", headers: ["muster-sender": "joint-command"], receipt: true)
            }
            await expectRefusal("not-authorized", containing: ["auditor"]) {
                try await broker.connect("discipline-inspector").publish(to: "/topic/notices", text: "x", receipt: true)
            }
            // The admitted task from the admitted sender goes through.
            let grid = try await broker.connect("shanta-village-grid")
            let inbox = try await grid.subscribe(to: "/queue/inbox.shanta-village-grid", ack: .clientIndividual)
            try await broker.connect("langxia-town").publish(to: "/queue/inbox.shanta-village-grid", text: Self.dispatch(task: "drain-clearing"), receipt: true)
            #expect(try await inbox.take(1).first?.headers["muster-type"] == "handoff")
        }
    }

    @Test func certificatesMustComeFromTheirOwnJurisdictionsCA() async throws {
        try await withBroker(topics: Self.topics) { broker in
            // Pinghu's CA signs a certificate that claims to be Langxia town, in Jinshan.
            let spoof = try broker.pki.client("spoofed-langxia", jurisdiction: "pinghu", uriNames: ["muster://jinshan/langxia-town"])
            await expectRefusal("identity-refused", containing: ["jinshan's certificate authority"]) {
                _ = try await MusterConnection.connect(ClientOptions(server: broker.address, identity: ClientIdentity(
                    certificatePath: spoof.certificate, privateKeyPath: spoof.key, trustedAuthorityPaths: [spoof.authority])))
            }
            await expectRefusal("identity-refused", containing: ["not a party"]) {
                _ = try await broker.connect("unlisted-office")
            }
        }
    }

    @Test func refusalsAreRecordedInTheAuditDestinationWithoutTheirContent() async throws {
        try await withBroker(topics: Self.topics) { broker in
            let secret = "机密内容-do-not-store-\(UInt32.random(in: 0...UInt32.max))"
            await expectRefusal("not-authorized") {
                try await broker.connect("jinshan-public-security").publish(to: "/topic/undeclared", text: secret, receipt: true)
            }
            await expectRefusal("schema-violation") {
                try await broker.connect("langxia-town").publish(to: "/topic/evaluation", text: #"{"secret": "\#(secret)"}"#, receipt: true)
            }
            await expectRefusal("not-authorized") {
                _ = try await broker.connect("langxia-town").subscribe(to: "/topic/muster.audit.refusals").take(1)
            }
            let auditor = try await broker.connect("discipline-inspector")
            let audit = try await auditor.subscribe(to: "/topic/muster.audit.refusals", headers: ["x-stream-offset": "first"])
            let records = try await audit.take(3)
            let bodies = records.map { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
            #expect(records.allSatisfy { $0.headers["muster-type"] == "refusal" })
            let first = try #require(bodies[0])
            #expect(first["party"] as? String == "jinshan-public-security")
            #expect(first["destination"] as? String == "/topic/undeclared")
            #expect(first["code"] as? String == "not-authorized")
            #expect((first["rule"] as? String)?.contains("default deny") == true)
            let digest = await Self.sha256(Array(secret.utf8))
            #expect(first["digest"] as? String == "sha256:" + digest)
            #expect(first["bytes"] as? Int == secret.utf8.count)
            #expect(bodies[1]?["code"] as? String == "schema-violation")
            #expect(bodies[1]?["type"] as? String == "evaluation")
            #expect(bodies[2]?["digest"] == nil, "a refused subscription has no body")
            for record in records {
                #expect(!String(decoding: record.body, as: UTF8.self).contains(secret), "no refused content is stored")
            }
            let log = try await runMuster(["log", "dump", "--data", broker.dataDirectory])
            #expect(!log.output.contains(secret), "the refused content is nowhere in the log")
            let counts = try await runMuster(["policy", "refusals", "--data", broker.dataDirectory, "--json"])
            let table = try JSONSerialization.jsonObject(with: Data(counts.stdout.utf8)) as? [String: [String: Int]]
            #expect(table?["jinshan/jinshan-public-security"]?["not-authorized"] == 1, "\(counts.output)")
            #expect(table?["jinshan/langxia-town"] == ["schema-violation": 1, "not-authorized": 1], "\(counts.output)")
            try await auditor.disconnect()
        }
    }

    /// The digest as `sha256sum` computes it (an implementation independent of the broker's).
    static func sha256(_ bytes: [UInt8]) async -> String {
        let digest = try? await runProcess("sha256sum", [], input: String(decoding: bytes, as: UTF8.self))
        return String(digest?.stdout.prefix(64) ?? "")
    }
}

/// A real STOMP client we did not write meets the policy.
@Suite("Policy interop")
struct PolicyInteropTests {
    @Test func stompPyGetsReceiptsForValidMessagesAndCodedErrorsForRefusals() async throws {
        let broker = try await runBlocking { try BrokerProcess.start(topics: PolicyEndToEndTests.topics) }
        defer { broker.stop() }
        let town = try broker.pki.client("langxia-town")
        let arguments = [broker.address.host, String(broker.address.port), town.authority, town.certificate, town.key]
        let result = try await PythonScript.run("stomp_policy.py", arguments)
        #expect(result.status == 0, "stomp_policy.py failed:\n\(result.output)\n--- broker ---\n\(broker.log)")
        #expect(result.output.contains(#""ok": true"#))
    }
}
