import Foundation
import MusterTestSupport
import Testing

/// The board's live stream re-admits its party as the policy changes: a certificate revoked,
/// or a party whose kind changed, loses the stream at once (the browser reconnects and sees
/// what the party may now).
@Suite("the board's live stream after a reload")
struct BoardStreamReadmissionTests {
    /// Opens Langxia town's stream, applies `change` to the broker's files, reloads, and expects the broker to close the stream.
    func expectStreamEnds(after change: (WorkflowCast, ClientFiles) throws -> Void) async throws {
        let cast = try WorkflowCast.start(settings: BoardBrowserTests.settings)
        defer { cast.finish() }
        try await cast.whileReporting {
            let port = try await BoardBrowserTests.boardPort(of: cast.broker)
            let town = cast.files["langxia-town"]!
            let script = try PythonScript.start("board_stream_revoked.py", ["127.0.0.1", String(port), town.authority, town.certificate, town.key])
            #expect(await script.waitForOutput(containing: "\"streaming\"", timeout: .seconds(60)), "\(script.output)")
            try change(cast, town)
            #expect(try await cast.broker.reload() == "reloaded")
            let run = await script.finish(timeout: .seconds(90))
            let done = PythonScript.jsonLines(run.output).last
            #expect(done?["closed"] as? Bool == true, "the stream outlived the reload: \(run.output)")
        }
    }

    @Test func aRevokedPartysLiveStreamIsClosed() async throws {
        try await expectStreamEnds { cast, town in
            let list = try cast.broker.pki.revoke(town, jurisdiction: "jinshan")
            try cast.broker.rewrite(parties: BrokerProcess.partiesText(pki: cast.broker.pki, revocationLists: ["jinshan": list]))
        }
    }

    @Test func aStreamEndsWhenAReloadChangesThePartysKind() async throws {
        try await expectStreamEnds { cast, _ in
            let parties = BrokerProcess.parties.map { $0.id == "langxia-town" ? ($0.id, $0.jurisdiction, "coordinator") : $0 }
            try cast.broker.rewrite(parties: BrokerProcess.partiesText(pki: cast.broker.pki, parties: parties))
        }
    }
}
