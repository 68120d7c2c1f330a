import Foundation
import MusterTestSupport
import Testing

/// The coordinators' board, used as people use it: headless Chromium with a party's client
/// certificate blows the whistle from the form while a stomp.py adapter reports in, and the
/// board follows without a reload; a refused action shows the policy's reason; a browser
/// without a certificate gets nothing. A scraper with a monitor's certificate reads /metrics.
@Suite("the coordinators' board")
struct BoardBrowserTests {
    static let settings = "web:\n  listen: 127.0.0.1:0"

    /// Where `broker` serves its board (it logs the port it bound).
    static func boardPort(of broker: BrokerProcess) async throws -> Int {
        var port = 0
        try await eventually("the broker logs where it serves the board") {
            guard let found = broker.log.firstMatch(of: /address=https:\/\/127\.0\.0\.1:(\d+)\//) else { return false }
            port = Int(found.1) ?? 0
            return true
        }
        return port
    }

    @Test func aCoordinatorBlowsTheWhistleInABrowserAndWatchesTheDepartmentReportIn() async throws {
        let cast = try WorkflowCast.start(settings: Self.settings)
        defer { cast.finish() }
        try await cast.whileReporting {
            let port = try await Self.boardPort(of: cast.broker)
            // MUSTER_BOARD_SCREENSHOTS=Docs/screenshots keeps the screenshots (the README shows them).
            let keep = ProcessInfo.processInfo.environment["MUSTER_BOARD_SCREENSHOTS"]
            let shots = try keep.map { URL(fileURLWithPath: $0).path } ?? TemporaryDirectory().path
            try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
            var parties: [String: [String]] = [:]
            for party in ["langxia-town", "jinshan-public-security", "discipline-inspector", "shanta-village-grid"] {
                parties[party] = [cast.files[party]!.certificate, cast.files[party]!.key]
            }
            let config: [String: Any] = [
                "origin": "https://127.0.0.1:\(port)", "stomp": [cast.broker.address.host, cast.broker.address.port],
                "ca": cast.files["langxia-town"]!.authority, "parties": parties, "screenshots": shots,
            ]
            let argument = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            let run = try await PythonScript.run("board_browser.py", [argument], timeout: .seconds(240))
            let steps = PythonScript.jsonLines(run.output)
            let done = try #require(steps.last(where: { $0["step"] as? String == "done" }), "the browser script did not finish:\n\(run.output)")
            let failures = done["failures"] as? [String] ?? ["no failures list"]
            #expect(run.status == 0 && failures.isEmpty, "\(failures.joined(separator: "\n"))\n\(run.output)")
            // Each step that must have happened did (a script that skipped one would not have printed it).
            let names = Set(steps.compactMap { $0["step"] as? String })
            #expect(names.isSuperset(of: ["no-certificate", "open", "whistle", "report-in", "live-update", "refused", "audit", "dispatch", "accept", "assessment"]), "\(names)")
            let anonymous = steps.first { $0["step"] as? String == "no-certificate" }
            #expect(anonymous?["loaded"] as? Bool == false, "a browser without a certificate loaded the board")
            // The board's summons is the broker's: the CLI sees the department on time.
            let summons = try #require(steps.first { $0["step"] as? String == "whistle" }?["summons"] as? String)
            let show = try await cast.run("langxia-town", ["summons", "show", summons, "--json"])
            let view = try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [String: Any]
            let department = (view?["parties"] as? [[String: Any]])?.first { $0["party"] as? String == "jinshan-public-security" }
            #expect(show.status == 0 && department?["status"] as? String == "on time", "\(show.output)")
            // The refusal of the auditor's whistle was recorded like a STOMP SEND's: in the broker's log of refusals.
            #expect(cast.broker.log.contains("board: refused jinshan/discipline-inspector's summons"), "the broker did not log the refusal")
            for name in ["board-summons.png", "board-assessment.png"] {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(shots)/\(name)"))
                #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 10_000, "\(name) is not a screenshot (\(bytes.count) bytes)")
            }
        }
    }

    @Test func aMonitorReadsTheMetricsOverHTTPSAndNothingElseAndAFormSentTwiceIsStoredOnce() async throws {
        let cast = try WorkflowCast.start(settings: Self.settings)
        defer { cast.finish() }
        try await cast.whileReporting {
            let port = try await Self.boardPort(of: cast.broker)
            try await cast.run("langxia-town", ["summon", "--to", "jinshan-public-security", "--title", "Flooded underpass", "--deadline", "30m"])
                .expectSuccess("summon")
            let monitor = cast.files["metrics-scraper"]!
            let other = cast.files["langxia-town"]!
            let run = try await PythonScript.run("board_metrics.py", ["127.0.0.1", String(port), monitor.authority, monitor.certificate, monitor.key,
                                                                      other.certificate, other.key])
            let result = try #require(PythonScript.jsonLines(run.output).last, "no JSON line:\n\(run.output)")
            let samples = result["samples"] as? [String: Double] ?? [:]
            #expect(result["status"] as? Int == 200 && (result["contentType"] as? String)?.hasPrefix("text/plain; version=0.0.4") == true, "\(result)")
            #expect(samples["muster_summonses_open"] == 1, "the monitor's scrape: \(samples)")
            #expect((samples["muster_frames_received_total|command=SEND"] ?? 0) >= 1, "\(samples.keys.sorted())")
            #expect(result["otherStatus"] as? Int == 403 && (result["otherText"] as? String)?.contains("monitor") == true, "\(result)")
            #expect(result["monitorPageStatus"] as? Int == 403, "a monitor was shown the board: \(result)")
            let offered = result["offered"] as? String ?? ""
            #expect(offered.contains("jinshan-public-security") && !offered.contains("metrics-scraper"), "the forms offer a monitor: \(offered)")
            // The same form token twice: one summons, and the second answer names it too.
            let posted = result["posted"] as? [[String: Any]] ?? []
            let notices = posted.compactMap { $0["notice"] as? String }
            #expect(posted.count == 2 && posted.allSatisfy { $0["status"] as? Int == 200 }, "\(posted)")
            #expect(notices.count == 2 && notices[0].contains("summons s-2") && notices[1].contains("summons s-2"), "\(notices)")
            let list = try await cast.run("langxia-town", ["summons", "list", "--json"])
            let summonses = try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]] ?? []
            #expect(summonses.filter { $0["title"] as? String == "Burst water main" }.count == 1, "the form sent twice made two summonses:\n\(list.output)")
            // A monitor's certificate opens nothing over STOMP.
            let stomp = try await cast.run("metrics-scraper", ["sub", "/topic/notices", "--count", "1"])
            #expect(stomp.status != 0 && stomp.output.contains("monitor"), "a monitor connected over STOMP:\n\(stomp.output)")
        }
    }
}
