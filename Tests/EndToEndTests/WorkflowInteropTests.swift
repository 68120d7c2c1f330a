import Foundation
import MusterBroker
import MusterClient
import MusterStomp
import MusterTestSupport
import Testing
@testable import MusterProtocol
@testable import MusterWorkflow

/// stomp.py, a STOMP client we did not write, as jinshan-public-security's adapter in a
/// summons (Interop/stomp_workflow.py): it reads the summons copy from its inbox over mutual
/// TLS, acknowledges it and reports in; the summons then shows the copy acknowledged and the
/// party on time.
@Suite("stomp.py workflow interoperability")
struct WorkflowInteropTests {
    static let adapter = (party: "jinshan-public-security", jurisdiction: "jinshan")
    static let summoned = ["jinshan-public-security", "guangchen-town"]

    /// The adapter listens first; langxia-town then blows the whistle with the `muster` tool,
    /// and asks `muster summons show --json` how the adapter's party stands.
    @Test func aStompPyAdapterReceivesTheSummonsCopyAcknowledgesItAndReportsIn() async throws {
        let cast = try WorkflowCast.start()
        defer { cast.finish() }
        try await cast.whileReporting {
            let ready = cast.broker.directory.file("adapter-ready")
            let script = Task { try await Self.runAdapter(cast.broker, ready: ready) }
            do {
                try await eventually(timeout: .seconds(45), "the stomp.py adapter's subscription to its inbox") {
                    FileManager.default.fileExists(atPath: ready)
                }
            } catch {
                Issue.record("the adapter did not subscribe:\n\(try await script.value)")
                throw error
            }

            let opened = try await cast.run("langxia-town", [
                "summon", "--to", Self.summoned.joined(separator: ","), "--title", "Illegal gold digging on the Shanta river bank",
                "--deadline", "30m",
            ])
            try opened.expectSuccess("summon")
            let id = opened.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            let adapter = try await script.value
            let report = Self.finalLine(adapter)
            #expect(adapter.status == 0 && report?["ok"] as? Bool == true, "the stomp.py adapter failed:\n\(adapter)")
            #expect(report?["summons_id"] as? String == id, "the adapter got the copy of \(id):\n\(adapter)")

            let shown = try await cast.run("langxia-town", ["summons", "show", id, "--json"])
            try shown.expectSuccess("summons show --json")
            let view = try shown.decode(SummonsView.self)
            try Self.expectAdapterReportedIn(view, id: id)
            let copy = Self.stepLine("inbox-copy", adapter)?["headers"] as? [String: Any]
            #expect(copy?["muster-sender"] as? String == "test-broker", "the broker writes the inbox copies: \(adapter)")

            // The log alone tells the same: delivered, acknowledged, reported in.
            #expect(cast.broker.stop(removingDirectory: false) == 0)
            let offline = try await cast.runOffline(["summons", "show", id, "--json"])
            try offline.expectSuccess("summons show --json --data (offline)")
            #expect(try offline.decode(SummonsView.self) == view,
                    "summons show online and offline differ:\n--- online ---\n\(shown.stdout)\n--- offline ---\n\(offline.stdout)")
        }
    }

    /// The adapter is offline when a Swift client of langxia-town blows the whistle; it
    /// connects later and finds the copy waiting in its inbox. Asked with `AckQueryClient`.
    @Test func aStompPyAdapterThatConnectsLaterFindsTheSummonsCopyWaiting() async throws {
        let cast = try WorkflowCast.start()
        defer { cast.finish() }
        try await cast.whileReporting {
            let town = try await cast.broker.connect("langxia-town")
            let open: [String: Any] = [
                "action": "open", "title": "Flooded underpass on the G320", "description": "Two cars stuck; pumps needed.",
                "location": ["name": "G320 underpass"], "summoned": Self.summoned, "severity": "critical", "deadline": "PT30M",
            ]
            let receipt = try await town.send(StompFrame(.send, headers: [
                "destination": "/topic/summons", "muster-type": "summons", "content-type": "application/json;charset=utf-8",
            ], body: Array(try JSONSerialization.data(withJSONObject: open, options: [.sortedKeys]))), awaitingReceipt: true)
            let id = try #require(receipt[WorkflowHeader.id], "the RECEIPT of a summons open names its id: \(receipt)")

            let adapter = try await Self.runAdapter(cast.broker, ready: "-")
            let report = Self.finalLine(adapter)
            #expect(adapter.status == 0 && report?["ok"] as? Bool == true, "the stomp.py adapter failed:\n\(adapter)")
            #expect(report?["summons_id"] as? String == id, "the adapter got the copy of \(id):\n\(adapter)")

            let answer = try await AckQueryClient(town).ask([QueryHeader.kind: AckQuery.Kind.summonsShow.rawValue, QueryHeader.caseID: id])
            let view = try JSONDecoder().decode(SummonsView.self, from: Data(answer))
            try Self.expectAdapterReportedIn(view, id: id)
            try await town.disconnect()
        }
    }

    // MARK: Helpers

    /// Runs the script as the adapter's party (it gives up on its own after 30 s per frame).
    static func runAdapter(_ broker: BrokerProcess, ready: String) async throws -> ProgramRun {
        let files = try broker.pki.client(adapter.party, jurisdiction: adapter.jurisdiction)
        return try await PythonScript.run("stomp_workflow.py", [broker.address.host, String(broker.address.port), files.authority,
                                                                files.certificate, files.key, "\(adapter.jurisdiction)/\(adapter.party)", ready],
                                          timeout: .seconds(120))
    }

    /// The script's last line: {"ok": ..., "summons_id": ..., "failures": [...]}.
    static func finalLine(_ run: ProgramRun) -> [String: Any]? {
        PythonScript.jsonLines(run.stdout).last
    }

    /// The script's line for `step`.
    static func stepLine(_ step: String, _ run: ProgramRun) -> [String: Any]? {
        PythonScript.jsonLines(run.stdout).first { $0["step"] as? String == step }
    }

    static func expectAdapterReportedIn(_ view: SummonsView, id: String) throws {
        #expect(view.id == id)
        #expect(view.summoner == "jinshan/langxia-town")
        #expect(view.parties.map(\.party) == summoned)
        let party = try #require(view.parties.first { $0.party == adapter.party }, "\(view)")
        #expect(party.jurisdiction == adapter.jurisdiction)
        #expect(party.deliveredAt != nil, "the copy was delivered to the adapter: \(party)")
        #expect(party.ackedAt != nil, "the adapter's ACK of the copy is recorded: \(party)")
        #expect(party.reportedInAt != nil, "\(party)")
        #expect(party.status == "on time", "\(party)")
        #expect(party.lateByMilliseconds == nil)
        #expect(party.people == 1)
        if let delivered = party.deliveredAt, let acked = party.ackedAt, let reported = party.reportedInAt {
            #expect(view.openedAt <= delivered && delivered <= acked && acked <= reported, "\(party)")
            #expect(party.eta == reported + 10 * 60_000, "eta PT10M counts from the report-in: \(party)")
        }
        // Nobody reads guangchen-town's inbox: its copy waits, unacknowledged.
        let other = try #require(view.parties.first { $0.party == "guangchen-town" })
        #expect(other.deliveredAt == nil && other.ackedAt == nil && other.reportedInAt == nil, "\(other)")
        #expect(other.status == "waiting", "\(other)")
        #expect(view.timeline.contains { $0.party == "jinshan/\(adapter.party)" && $0.text.hasPrefix("reported in, on time") }, "\(view.timeline)")
    }
}
