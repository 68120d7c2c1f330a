import Foundation
@testable import MusterWeb
import MusterWorkflow
import Testing

/// What the board escapes beyond the summons board, its budgets, and its limits.
@Suite("the board's escaping, budgets and limits")
struct BoardLimitsTests {
    static let township = BoardViewer(party: "langxia-town", jurisdiction: "jinshan", name: "廊下镇", kind: "township")
    static let monitor = BoardViewer(party: "metrics-scraper", jurisdiction: "jinshan", name: "监控", kind: "monitor")

    @Test func handoffFieldsAreEscaped() throws {
        let json = """
            {"id":"h-1","title":"<script>alert(1)</script>","taskType":"<b>t","reference":"<i>r","originator":"jinshan/langxia-town",
             "assignee":"jinshan/jinshan-public-security","state":"dispatched","dispatchedAt":1800000000000,"due":1800000600000,"overdue":false,
             "result":"<img src=x>","legs":[],"timeline":[{"time":1800000000000,"party":"jinshan/langxia-town","text":"<svg onload=x>"}]}
            """
        let handoff = try JSONDecoder().decode(HandoffView.self, from: Data(json.utf8))
        let html = BoardPages(language: .english, viewer: Self.township).handoffs([handoff], now: 1_800_000_000_000, parties: [])
        #expect(!html.contains("<script>alert") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<b>t") && !html.contains("<i>r") && !html.contains("<img src=x") && !html.contains("<svg onload"))
    }

    @Test func auditTextIsEscaped() {
        let audit = AuditView(logID: "<l>", jurisdiction: "<j>", head: "<h>", nextOffset: 1, verification: "<v>",
                              pending: [.init(party: "<p>", destination: "<d>", count: 1, oldestSince: 0)],
                              refusals: [.init(rule: "<script>rule</script>", code: "<c>", count: 1)],
                              links: [.init(peer: "<peer>", lane: "<lane>", state: "<s>", backlogRecords: nil, lagSeconds: nil, lastError: "<e>")])
        let html = AuditHTML(language: .english).section(audit)
        for raw in ["<l>", "<j>", "<h>", "<v>", "<p>", "<d>", "<script>", "<c>", "<peer>", "<lane>", "<s>", "<e>"] {
            #expect(!html.contains(raw), "\(raw) unescaped")
        }
    }

    @Test func streamBudgetsPerPartyAndInAllAreKeptAndReleased() {
        let streams = BoardStreams()
        for _ in 0..<BoardStreams.maximumPerParty { #expect(streams.start(for: "a")) }
        #expect(!streams.start(for: "a"), "a ninth stream for one party")
        #expect(streams.start(for: "b"))
        streams.end(for: "a")
        #expect(streams.start(for: "a"), "an ended stream frees its party's place")
        let all = BoardStreams()
        for i in 0..<BoardStreams.maximumStreams { #expect(all.start(for: "p\(i % 100)")) }
        #expect(!all.start(for: "q"))
        all.end(for: "p0")
        #expect(all.start(for: "q"), "an ended stream frees a place in all")
    }

    @Test func aBodyOfExactlyTheLimitIsReadAndOneMoreIsRefused() {
        #expect(HTTPRequest.read(Array("POST /summon HTTP/1.1\r\nContent-Length: 65536\r\n\r\n".utf8)) == .incomplete)
        guard case .invalid(413, _) = HTTPRequest.read(Array("POST /summon HTTP/1.1\r\nContent-Length: 65537\r\n\r\n".utf8)) else {
            Issue.record("65537 bytes accepted"); return
        }
    }

    static func request(_ method: String, _ path: String, fields: [(String, String)] = [], body: String = "") -> HTTPRequest {
        HTTPRequest(head: HTTPRequestHead(method: method, path: path, query: "", version: "HTTP/1.1", fields: [("host", "127.0.0.1:8443")] + fields),
                    body: Array(body.utf8))
    }

    @Test func metricsOnTheBoardAnswersGetOnly() {
        let router = BoardRouter(source: BoardRouterTests.FakeSource(), viewer: Self.monitor)
        guard case .response(let response) = router.reply(to: Self.request("POST", "/metrics")) else { Issue.record("no response"); return }
        #expect(response.status == 405 && response.extraFields == ["Allow: GET"])
    }

    @Test func aFormFromASiblingSiteIsRefused() {
        let router = BoardRouter(source: BoardRouterTests.FakeSource(), viewer: Self.township)
        guard case .response(let response) = router.reply(to: Self.request("POST", BoardForms.summonPath, fields: [("sec-fetch-site", "same-site")], body: "to=a&title=x")) else {
            Issue.record("a same-site form was sent"); return
        }
        #expect(response.status == 403)
    }
}
