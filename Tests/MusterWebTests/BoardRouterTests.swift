import Foundation
@testable import MusterWeb
import MusterNet
import MusterWorkflow
import Synchronization
import Testing

/// Who may see and do what on the board, and what the pages contain, against a broker stand-in.
@Suite("the board's routes")
struct BoardRouterTests {
    final class FakeSource: BoardSource, @unchecked Sendable {
        var summonsList: [SummonsView] = []
        let submitted = Mutex<[WorkflowSubmission]>([])
        var answer: Result<String, BoardRefusal> = .success("s-1")
        var assessmentJSON = #"{"from":0,"to":1,"rows":[]}"#

        func admit(_ certificate: PeerCertificate?, source: String) -> Result<BoardViewer, BoardRefusal> { .failure(BoardRefusal(code: "x", message: "x")) }
        var now: Int64 { 1_800_000_000_000 }
        func summonses(for viewer: BoardViewer) -> [SummonsView] { summonsList }
        func handoffs(for viewer: BoardViewer) -> [HandoffView] { [] }
        func parties() -> [(identity: String, name: String)] { [("langxia-town", "廊下镇"), ("jinshan-public-security", "金山公安分局")] }
        func assessment() -> Assessment { try! JSONDecoder().decode(Assessment.self, from: Data(assessmentJSON.utf8)) }
        func audit() -> AuditView {
            AuditView(logID: "log-1", jurisdiction: "jinshan", head: "7:abc", nextOffset: 8, verification: "checked", pending: [],
                      refusals: [.init(rule: "topics.yaml topics[0]", code: "not-authorized", count: 2)], links: [])
        }
        func submit(_ submission: WorkflowSubmission, by viewer: BoardViewer, completion: @escaping @Sendable (Result<String, BoardRefusal>) -> Void) {
            submitted.withLock { $0.append(submission) }
            completion(answer)
        }
        func metrics() -> [UInt8]? { Array("muster_up 1\n".utf8) }
        func handshakeFailed(_ error: TLSHandshakeError) {}
    }

    static let township = BoardViewer(party: "langxia-town", jurisdiction: "jinshan", name: "廊下镇", kind: "township")
    static let monitor = BoardViewer(party: "metrics-scraper", jurisdiction: "jinshan", name: "监控", kind: "monitor")
    static let auditor = BoardViewer(party: "discipline-inspector", jurisdiction: "jinshan", name: "纪检", kind: "auditor")

    static func request(_ method: String, _ target: String, fields: [(String, String)] = [], body: String = "") -> HTTPRequest {
        let question = target.firstIndex(of: "?")
        let head = HTTPRequestHead(method: method, path: question.map { String(target[..<$0]) } ?? target,
                                   query: question.map { String(target[target.index(after: $0)...]) } ?? "", version: "HTTP/1.1",
                                   fields: [("host", "127.0.0.1:8443")] + fields)
        return HTTPRequest(head: head, body: Array(body.utf8))
    }

    static func response(_ reply: BoardRouter.Reply) -> HTTPResponse? {
        if case .response(let response) = reply { return response }
        return nil
    }

    static func text(_ response: HTTPResponse?) -> String { response.map { String(decoding: $0.body, as: UTF8.self) } ?? "" }

    @Test func aMonitorReadsOnlyTheMetricsAndOnlyAMonitorReadsThem() {
        let source = FakeSource()
        let scrape = Self.response(BoardRouter(source: source, viewer: Self.monitor).reply(to: Self.request("GET", "/metrics")))
        #expect(scrape?.status == 200 && Self.text(scrape) == "muster_up 1\n" && scrape?.contentType.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(Self.response(BoardRouter(source: source, viewer: Self.monitor).reply(to: Self.request("GET", "/")))?.status == 403)
        let refused = Self.response(BoardRouter(source: source, viewer: Self.township).reply(to: Self.request("GET", "/metrics")))
        #expect(refused?.status == 403 && Self.text(refused).contains("monitor"))
    }

    @Test func theAuditorsPageIsForAuditorsOnly() {
        let source = FakeSource()
        let refused = Self.response(BoardRouter(source: source, viewer: Self.township).reply(to: Self.request("GET", "/audit")))
        #expect(refused?.status == 403)
        let coordinator = BoardViewer(party: "joint-command", jurisdiction: "jinshan", name: "指挥部", kind: "coordinator")
        #expect(Self.response(BoardRouter(source: source, viewer: coordinator).reply(to: Self.request("GET", "/audit")))?.status == 403)
        let page = Self.response(BoardRouter(source: source, viewer: Self.auditor).reply(to: Self.request("GET", "/audit?lang=en")))
        #expect(page?.status == 200 && Self.text(page).contains("topics.yaml topics[0]") && Self.text(page).contains("7:abc"))
        #expect(!Self.text(Self.response(BoardRouter(source: source, viewer: Self.township).reply(to: Self.request("GET", "/")))).contains("href=\"/audit"),
                "a township is not offered the auditors' tab")
    }

    @Test func unknownPathsAndMethodsAreAnsweredAsHTTPSays() {
        let router = BoardRouter(source: FakeSource(), viewer: Self.township)
        #expect(Self.response(router.reply(to: Self.request("GET", "/nothing")))?.status == 404)
        let wrongMethod = Self.response(router.reply(to: Self.request("GET", BoardForms.summonPath)))
        #expect(wrongMethod?.status == 405 && wrongMethod?.extraFields == ["Allow: POST"])
        #expect(Self.response(router.reply(to: Self.request("DELETE", "/")))?.extraFields == ["Allow: GET"])
        guard case .events(.english) = router.reply(to: Self.request("GET", "/events?lang=en")) else {
            Issue.record("/events does not start a stream")
            return
        }
    }

    @Test func aFormFromAnotherSiteIsRefusedBeforeAnythingIsSent() {
        let source = FakeSource()
        let router = BoardRouter(source: source, viewer: Self.township)
        for fields in [[("origin", "https://evil.example")], [("sec-fetch-site", "cross-site")], [("origin", "null")]] {
            let reply = router.reply(to: Self.request("POST", BoardForms.summonPath, fields: fields, body: "to=a&title=x"))
            #expect(Self.response(reply)?.status == 403, "\(fields)")
        }
        guard case .submit(let submission, _) = router.reply(to: Self.request("POST", BoardForms.summonPath,
                                                                               fields: [("origin", "https://127.0.0.1:8443"), ("sec-fetch-site", "same-origin")],
                                                                               body: "to=a&title=x")) else {
            Issue.record("the board's own form was refused")
            return
        }
        #expect(submission.type == "summons")
    }

    @Test func theBrokersAnswerIsShownAboveThePageWithAStatusThatSaysWhat() {
        let router = BoardRouter(source: FakeSource(), viewer: Self.township)
        guard case .submit(_, let answer) = router.reply(to: Self.request("POST", BoardForms.summonPath, body: "to=a&title=x")) else {
            Issue.record("no submission")
            return
        }
        let done = answer(.success("s-9"))
        #expect(done.status == 200 && Self.text(done).contains("id=\"notice\" class=\"notice done\"") && Self.text(done).contains("summons s-9"))
        let refused = answer(.failure(BoardRefusal(code: "not-authorized", message: "the auditor may not publish <here> [rule: topics.yaml topics[0]]")))
        #expect(refused.status == 403 && Self.text(refused).contains("the auditor may not publish &lt;here&gt; [rule: topics.yaml topics[0]]"))
        #expect(answer(.failure(BoardRefusal(code: "invalid-transition", message: "closed"))).status == 422)
    }

    @Test func whatPartiesWroteIsEscapedOnThePage() throws {
        let source = FakeSource()
        let json = """
            {"id":"s-1","title":"<script>alert(1)</script>","summoner":"jinshan/langxia-town","state":"open","severity":"high\\" onmouseover=\\"x",
             "location":"<img src=x onerror=alert(2)>","openedAt":1800000000000,"deadline":1800000600000,"parties":[
             {"party":"jinshan-public-security","jurisdiction":"jinshan","status":"waiting","people":0}],"timeline":[]}
            """
        source.summonsList = [try JSONDecoder().decode(SummonsView.self, from: Data(json.utf8))]
        let page = Self.text(Self.response(BoardRouter(source: source, viewer: Self.township).reply(to: Self.request("GET", "/?lang=en"))))
        #expect(!page.contains("<script>alert") && page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!page.contains("<img src=x") && !page.contains("high\" onmouseover"))
        #expect(page.contains("金山公安分局 <code class=\"id\">jinshan/jinshan-public-security</code>"), "the party's own name")
        #expect(page.contains("data-deadline=\"1800000600000\"") && page.contains("Time left 10m 00s"), "the countdown on the broker's clock")
        // The streamed board carries no clock reading: it is the same a minute later.
        let router = BoardRouter(source: source, viewer: Self.township)
        let streamed = router.liveBoard(language: .english)
        #expect(!streamed.contains("data-now") && !streamed.contains("Time left 10m") && streamed.contains("data-deadline=\"1800000600000\""))
        #expect(SummonsBoardHTML(language: .english, viewer: Self.township).section(source.summonsList, now: 1_800_000_060_000, streamed: true)
                == SummonsBoardHTML(language: .english, viewer: Self.township).section(source.summonsList, now: 1_800_000_000_000, streamed: true))
    }

    @Test func theAssessmentIsATableAndChartsOfEachPartysFigures() {
        let source = FakeSource()
        source.assessmentJSON = """
            {"from":0,"to":1,"rows":[
             {"party":"jinshan-public-security","jurisdiction":"jinshan","summonsReceived":4,"reportedInOnTime":3,"reportedInLate":1,"missed":0,
              "onTimePercent":75,"medianReportInMilliseconds":600000,"p90ReportInMilliseconds":1500000,"handoffsReceived":0,"accepted":0,
              "rejected":0,"transferred":0,"overdue":0,"admissionRefusals":0},
             {"party":"shanta-village-grid","jurisdiction":"jinshan","summonsReceived":0,"reportedInOnTime":0,"reportedInLate":0,"missed":0,
              "handoffsReceived":2,"accepted":2,"rejected":0,"transferred":0,"overdue":1,"medianCompletionMilliseconds":5400000,
              "citizenRating":4.5,"admissionRefusals":3}]}
            """
        let page = Self.text(Self.response(BoardRouter(source: source, viewer: Self.township).reply(to: Self.request("GET", "/assessment?lang=en"))))
        #expect(page.contains("id=\"chart-on-time\"") && page.contains("width=\"315\""), "75% of the 420-pixel bar")
        #expect(page.contains("id=\"chart-report-in\"") && page.contains("10m 00s / 25m 00s"))
        #expect(page.contains("id=\"chart-completion\"") && page.contains("1h 30m · ★ 4.5"))
        #expect(page.contains("<td>75%</td>") && page.contains("<td>3</td></tr>"), "the table: on-time rate, and the grid's admission refusals last")
    }

    @Test func theLiveStreamIsForTheBoardsOwnPages() {
        let router = BoardRouter(source: FakeSource(), viewer: Self.township)
        #expect(Self.response(router.reply(to: Self.request("GET", "/events", fields: [("sec-fetch-site", "cross-site")])))?.status == 403)
        guard case .events = router.reply(to: Self.request("GET", "/events", fields: [("sec-fetch-site", "same-origin")])) else {
            Issue.record("the board's own stream was refused")
            return
        }
    }
}
