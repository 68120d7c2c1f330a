import Foundation
import MusterClient
import MusterStomp
import MusterTestSupport
import Testing
@testable import MusterProtocol
@testable import MusterWorkflow

/// Hand-offs and a joint operation across the border on two real linked brokers: every
/// party talks to its own jurisdiction's broker only.
@Suite("cross-border hand-offs and joint operations", .serialized)
struct CrossBorderHandoffTests {
    static let town = "langxia-town"
    static let police = "pinghu-public-security"
    static let grid = "xinhua-village-grid"

    /// Langxia town (Jinshan) dispatches two tasks to Pinghu public security (Pinghu). The
    /// police accept one and pass it on to the Xinhua village grid (Jinshan's broker, the owner,
    /// crashes and restarts in between): Pinghu's broker applies the grid's admission list, so
    /// the other task, not on the list, is refused there. The grid
    /// gets its copy in its inbox on Pinghu's broker, accepts, reports progress and completes;
    /// Langxia town gives both ratings. Both brokers show the same hand-off, and `muster report`
    /// counts it the same on both, online and from each data directory.
    @Test func aHandoffFollowsItsWholeStateMachineAcrossTheBorder() async throws {
        try await LinkedBrokers.governing { try await handoff($0) }
    }

    private func handoff(_ brokers: LinkedBrokers) async throws {
        var town = try await brokers.jinshan.connect(Self.town)
        let police = try await brokers.pinghu.connect(Self.police, jurisdiction: "pinghu")
        let grid = try await brokers.pinghu.connect(Self.grid, jurisdiction: "pinghu")
        let policeInbox = try await police.subscribe(to: "/queue/inbox.\(Self.police)", ack: .clientIndividual)
        let gridInbox = try await grid.subscribe(to: "/queue/inbox.\(Self.grid)", ack: .clientIndividual)

        let due = WorkflowTime.rfc3339(WorkflowEndToEndTests.now() + 86_400_000)
        let dispatched = try await WorkflowEndToEndTests.send(town, "handoff", to: "/topic/handoff",
                                                              WorkflowEndToEndTests.dispatch("drain-clearing", to: Self.police, due: due))
        let id = try #require(dispatched[WorkflowHeader.id])
        #expect(id == "jinshan.h-1")
        let unlisted = try #require(try await WorkflowEndToEndTests.send(town, "handoff", to: "/topic/handoff",
                                                                         WorkflowEndToEndTests.dispatch("traffic-control", to: Self.police, due: due))[WorkflowHeader.id])
        for expected in [id, unlisted] {
            let copy = try #require(try await policeInbox.take(1).first)
            #expect(copy.headers[WorkflowHeader.id] == expected)
            #expect(copy.headers[WorkflowHeader.event] == "inbox-copy")
            try await police.ack(copy, receipt: true)
        }

        // Pinghu's broker decides the police's messages against its copy of the hand-off.
        try await WorkflowEndToEndTests.send(police, "handoff", to: "/topic/handoff", ["action": "accept", "handoffId": id, "note": "on it"])
        try await WorkflowEndToEndTests.send(police, "handoff", to: "/topic/handoff", ["action": "accept", "handoffId": unlisted])
        await expectRefusal("invalid-transition", containing: [id, "accepted"]) {
            try await WorkflowEndToEndTests.send(try await brokers.pinghu.connect(Self.police, jurisdiction: "pinghu"), "handoff", to: "/topic/handoff",
                                                 ["action": "accept", "handoffId": id])
        }
        await expectRefusal("not-admitted", containing: ["traffic-control"]) {
            try await WorkflowEndToEndTests.send(try await brokers.pinghu.connect(Self.police, jurisdiction: "pinghu"), "handoff", to: "/topic/handoff",
                                                 ["action": "transfer", "handoffId": unlisted, "to": Self.grid, "reason": "village work"])
        }
        // The owner crashes (SIGKILL) and starts again; the transfer reaches it afterwards.
        brokers.jinshan.kill()
        try await runBlocking { try brokers.restartJinshan() }
        town = try await brokers.jinshan.connect(Self.town)
        try await WorkflowEndToEndTests.send(police, "handoff", to: "/topic/handoff",
                                             ["action": "transfer", "handoffId": id, "to": Self.grid, "reason": "the drains are the village's"])

        // The owner writes the grid's copy; it crosses to the grid's inbox on Pinghu's broker.
        let gridCopy = try #require(try await gridInbox.take(1).first)
        #expect(gridCopy.headers[WorkflowHeader.id] == id)
        #expect(gridCopy.headers[WorkflowHeader.party] == "pinghu/\(Self.grid)")
        #expect(gridCopy.headers["muster-sender-jurisdiction"] == "jinshan" && gridCopy.headers["muster-via"] == "jinshan", "\(gridCopy.headers)")
        #expect(try WorkflowEndToEndTests.json(gridCopy)["taskType"] as? String == "drain-clearing")
        try await grid.ack(gridCopy, receipt: true)
        for (action, extra) in [("accept", ["note": "grid worker Lu"]), ("progress", ["note": "two drains cleared"]), ("complete", ["result": "drains clear"])] {
            try await WorkflowEndToEndTests.send(grid, "handoff", to: "/topic/handoff", ["action": action, "handoffId": id].merging(extra) { $1 })
        }
        // Langxia town sees it completed (on Jinshan's broker), and rates it, for itself and for the citizen.
        _ = try await Self.handoff(id, on: brokers.jinshan, as: Self.town, "jinshan") { $0.state == "completed" }
        try await WorkflowEndToEndTests.send(town, "handoff", to: "/topic/handoff", ["action": "rate", "handoffId": id, "score": 4, "rater": "originator"])
        try await WorkflowEndToEndTests.send(town, "handoff", to: "/topic/handoff",
                                             ["action": "rate", "handoffId": id, "score": 5, "rater": "citizen", "comment": "street dry again"])

        let onJinshan = try await Self.handoff(id, on: brokers.jinshan, as: Self.town, "jinshan") { view in
            view.legs.count == 2 && view.legs.allSatisfy { $0.ackedAt != nil }
        }
        let onPinghu = try await Self.handoff(id, on: brokers.pinghu, as: Self.grid, "pinghu") { $0.state == "rated" && $0.citizenScore == 5 }
        #expect(onJinshan == onPinghu, "the brokers' views differ:\nJinshan: \(onJinshan)\nPinghu: \(onPinghu)")
        #expect(onJinshan.state == "rated" && onJinshan.originatorScore == 4 && onJinshan.citizenScore == 5)
        #expect(onJinshan.legs.map(\.assignee) == ["pinghu/\(Self.police)", "pinghu/\(Self.grid)"])
        if onJinshan.legs.count == 2 {
            #expect(onJinshan.legs[0].acceptedAt != nil && onJinshan.legs[0].transferredAt != nil, "\(onJinshan.legs[0])")
            #expect(onJinshan.legs[1].acceptedAt != nil && onJinshan.legs[1].completedAt != nil, "\(onJinshan.legs[1])")
        }
        #expect(onJinshan.timeline.contains { $0.text == "progress: two drains cleared" }, "\(onJinshan.timeline)")
        #expect(try await Self.handoff(unlisted, on: brokers.jinshan, as: Self.town, "jinshan") { $0.state == "accepted" }.legs.count == 1,
                "the refused transfer did not cross")

        // The assessment of Pinghu's parties: the same on both brokers, online and offline.
        let period = ["report", "--from", WorkflowTime.rfc3339(WorkflowEndToEndTests.now() - 3_600_000),
                      "--to", WorkflowTime.rfc3339(WorkflowEndToEndTests.now() + 3_600_000), "--jurisdiction", "pinghu", "--format", "json"]
        let online = try await Self.muster(period, on: brokers.jinshan, as: Self.town, "jinshan")
        let onlinePinghu = try await Self.muster(period, on: brokers.pinghu, as: "guangchen-town", "pinghu")
        let jinshanRows = WorkflowEndToEndTests.withoutAdmissionRefusals(try online.decode(Assessment.self))
        #expect(jinshanRows == WorkflowEndToEndTests.withoutAdmissionRefusals(try onlinePinghu.decode(Assessment.self)),
                "Jinshan:\n\(online.stdout)\nPinghu:\n\(onlinePinghu.stdout)")
        #expect(jinshanRows.map(\.party) == [Self.police, Self.grid].sorted())
        #expect(jinshanRows.first { $0.party == Self.police }?.handoffsReceived == 2)
        #expect(jinshanRows.first { $0.party == Self.grid }?.citizenRating == 5)
        // Pinghu's broker, which refused the transfer, counts the police's refused attempt.
        #expect(try onlinePinghu.decode(Assessment.self).rows.first { $0.party == Self.police }?.admissionRefusals == 1, "\(onlinePinghu.stdout)")
        for connection in [police, grid, town] { try await connection.disconnect() }
        brokers.halt()
        for broker in [brokers.jinshan, brokers.pinghu] {
            let offline = try await runMuster(period + ["--data", broker.dataDirectory])
            try offline.expectSuccess("report --data")
            #expect(WorkflowEndToEndTests.withoutAdmissionRefusals(try offline.decode(Assessment.self)) == jinshanRows, "\(offline.stdout)")
        }
    }

    /// Guangchen town (Pinghu) opens a patrol with members on both brokers; members post
    /// notices on either side, and every member, subscribed at its own broker, reads every
    /// notice exactly once.
    @Test func aJointOperationsMembersOnBothBrokersEachSeeEveryNoticeOnce() async throws {
        try await LinkedBrokers.governing { try await jointOperation($0) }
    }

    private func jointOperation(_ brokers: LinkedBrokers) async throws {
        let members: [(party: String, jurisdiction: String)] = [
            ("langxia-town", "jinshan"), ("jinshan-public-security", "jinshan"), ("guangchen-town", "pinghu"), ("pinghu-public-security", "pinghu"),
        ]
        // Guangchen town opens it on Pinghu's broker, which owns it.
        let command = try await brokers.pinghu.connect("guangchen-town", jurisdiction: "pinghu")
        let now = WorkflowEndToEndTests.now()
        let open: [String: Any] = ["action": "open", "title": "Night patrol of the border river",
                                   "window": ["start": WorkflowTime.rfc3339(now), "end": WorkflowTime.rfc3339(now + 8 * 3_600_000)],
                                   "members": members.map { ["party": $0.party, "jurisdiction": $0.jurisdiction] }]
        let id = try #require(try await WorkflowEndToEndTests.send(command, "joint-operation", to: "/topic/joint.new", open)[WorkflowHeader.id])
        #expect(id == "pinghu.op-1")
        let channel = "/topic/joint.\(id)"

        var connections: [String: MusterConnection] = [:]
        var subscriptions: [String: MessageSubscription] = [:]
        for member in members {
            let broker = member.jurisdiction == "jinshan" ? brokers.jinshan : brokers.pinghu
            let connection = try await broker.connect(member.party, jurisdiction: member.jurisdiction)
            connections[member.party] = connection
            subscriptions[member.party] = try await connection.subscribe(to: channel)
        }
        // Jinshan's broker has the operation (the open crossed) before its members post.
        _ = try await Self.operation(id, on: brokers.jinshan, as: "langxia-town", "jinshan") { $0.state == "open" }
        let posters = ["langxia-town", "pinghu-public-security", "guangchen-town", "jinshan-public-security"]
        for (index, poster) in posters.enumerated() {
            try await WorkflowEndToEndTests.send(connections[poster]!, "joint-operation", to: channel,
                                                 ["action": "notice", "operationId": id, "text": "notice \(index) from \(poster)"])
        }
        // A last notice from each side: a copy read twice would come before the last one from its side.
        let ends = ["end from jinshan": "langxia-town", "end from pinghu": "guangchen-town"]
        for (text, poster) in ends.sorted(by: { $0.key < $1.key }) {
            try await WorkflowEndToEndTests.send(connections[poster]!, "joint-operation", to: channel, ["action": "notice", "operationId": id, "text": text])
        }
        let expected = posters.indices.map { "notice \($0) from \(posters[$0])" } + ends.keys
        for member in members {
            var read: [String] = []
            while !Set(ends.keys).isSubset(of: read), read.count < 20 {
                let message = try #require(try await subscriptions[member.party]!.take(1).first)
                read.append(try WorkflowEndToEndTests.json(message)["text"] as? String ?? "")
            }
            #expect(read.sorted() == expected.sorted(), "\(member.party) read each notice once: \(read)")
        }
        let onJinshan = try await Self.operation(id, on: brokers.jinshan, as: "langxia-town", "jinshan") { $0.notices == posters.count + 2 }
        let onPinghu = try await Self.operation(id, on: brokers.pinghu, as: "guangchen-town", "pinghu") { $0.notices == posters.count + 2 }
        #expect(onJinshan.notices == onPinghu.notices && onJinshan.members == onPinghu.members)
        for connection in connections.values { try await connection.disconnect() }
        try await command.disconnect()
    }

    // MARK: Helpers

    static func handoff(_ id: String, on broker: BrokerProcess, as party: String, _ jurisdiction: String,
                        until condition: @escaping @Sendable (HandoffView) -> Bool) async throws -> HandoffView {
        try await awaitView(on: broker, as: party, jurisdiction, id, { connection in try await WorkflowEndToEndTests.handoff(connection, id) },
                            until: condition)
    }

    static func operation(_ id: String, on broker: BrokerProcess, as party: String, _ jurisdiction: String,
                          until condition: @escaping @Sendable (JointOperationView) -> Bool) async throws -> JointOperationView {
        try await awaitView(on: broker, as: party, jurisdiction, id, { connection in
            let all = try await WorkflowEndToEndTests.ask(connection, ["muster-query": "operation-list"], as: [JointOperationView].self)
            return all.first { $0.id == id }
        }, until: condition)
    }

    static func awaitView<View: Sendable>(on broker: BrokerProcess, as party: String, _ jurisdiction: String, _ what: String,
                                          _ read: @escaping @Sendable (MusterConnection) async throws -> View?,
                                          until condition: @escaping @Sendable (View) -> Bool) async throws -> View {
        let connection = try await broker.connect(party, jurisdiction: jurisdiction)
        var last: View?
        do {
            try await eventually(timeout: .seconds(60), "\(what) on \(jurisdiction)'s broker to reach the expected state", pollingEvery: .milliseconds(200)) {
                last = (try? await read(connection)) ?? nil
                return last.map(condition) ?? false
            }
        } catch {
            Issue.record("last view on \(jurisdiction)'s broker: \(String(describing: last))")
            throw error
        }
        try await connection.disconnect()
        return try #require(last)
    }

    static func muster(_ arguments: [String], on broker: BrokerProcess, as party: String, _ jurisdiction: String) async throws -> ProgramRun {
        let files = try broker.pki.client(party, jurisdiction: jurisdiction)
        let run = try await runMuster(arguments + ["--server", "\(broker.address)", "--cert", files.certificate, "--key", files.key, "--ca", files.authority])
        try run.expectSuccess(arguments.joined(separator: " "))
        return run
    }
}
