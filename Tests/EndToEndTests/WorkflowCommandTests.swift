import Foundation
import MusterBroker
import MusterTestSupport
import Testing
@testable import MusterWorkflow

/// A coordinator runs a whole summons and a whole hand-off with nothing but the `muster`
/// tool: every command is a process of its own, connecting with the certificate of the party
/// that acts, to a real `muster serve` carrying the shipped topics (typed workflow topics,
/// inboxes and the grid's admission list).
@Suite("muster workflow commands")
struct WorkflowCommandTests {
    @Test func aSummonsFromTheWhistleToTheEvaluations() async throws {
        let cast = try WorkflowCast.start()
        defer { cast.finish() }
        try await cast.whileReporting {
            let summoned = ["jinshan-public-security", "guangchen-town", "shanta-village-grid"]
            let opened = try await cast.run("joint-command", [
                "summon", "--to", summoned.joined(separator: ","), "--title", "Illegal gold digging on the Shanta river bank",
                "--location", "Shanta river, Langxia stretch", "--deadline", "30m", "--remind", "10m", "--reference", "JC-2026-0612-01",
            ])
            try opened.expectSuccess("summon")
            let id = opened.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.wholeMatch(of: /s-[0-9]+/) != nil, "summon must print the summons id alone, printed: \(opened)")

            // A party the summons did not name cannot report in to it.
            let stranger = try await cast.run("pinghu-public-security", ["report-in", id, "--eta", "5m"])
            stranger.expectRefusal("invalid-transition", "a report-in by a party that was not summoned")

            // Each summoned party reports in with its own certificate; guangchen-town (Pinghu)
            // takes its connection from the environment instead of flags.
            let jinshan = try await cast.run("jinshan-public-security", [
                "report-in", id, "--eta", "15m", "--person", "Officer Zhang", "--person", "Officer Li", "--note", "patrol car on the way",
            ])
            try jinshan.expectSuccess("report-in by jinshan-public-security")
            #expect(jinshan.stdout.contains("reported in to \(id)"), "\(jinshan)")
            let guangchen = try await cast.run("guangchen-town", ["report-in", id, "--eta", "20m", "--note", "crossing at the bridge"],
                                              connectionFromEnvironment: true)
            try guangchen.expectSuccess("report-in by guangchen-town (connection from MUSTER_* variables)")
            let grid = try await cast.run("shanta-village-grid", ["report-in", id, "--eta", "0s", "--person", "Grid worker Chen"])
            try grid.expectSuccess("report-in by shanta-village-grid")

            // A report-in cannot be repeated.
            let again = try await cast.run("jinshan-public-security", ["report-in", id, "--eta", "5m", "--note", "again"])
            again.expectRefusal("invalid-transition", "a second report-in by jinshan-public-security")

            let shown = try await cast.run("joint-command", ["summons", "show", id, "--json"])
            try shown.expectSuccess("summons show --json")
            let view = try shown.decode(SummonsView.self)
            #expect(view.id == id)
            #expect(view.title == "Illegal gold digging on the Shanta river bank")
            #expect(view.summoner == "jinshan/joint-command")
            #expect(view.state == "open")
            #expect(view.location == "Shanta river, Langxia stretch")
            #expect(view.deadline - view.openedAt == 30 * 60_000)
            #expect(view.parties.map(\.party) == summoned)
            #expect(view.parties.map(\.jurisdiction) == ["jinshan", "pinghu", "jinshan"])
            for party in view.parties {
                #expect(party.reportedInAt != nil, "\(party.party) reported in: \(party)")
                #expect(party.status == "on time", "\(party)")
                #expect(party.lateByMilliseconds == nil, "\(party)")
                #expect(party.escalatedAt == nil, "\(party)")
            }
            let byParty = Dictionary(uniqueKeysWithValues: view.parties.map { ($0.party, $0) })
            #expect(byParty["jinshan-public-security"]?.people == 2)
            #expect(byParty["guangchen-town"]?.people == 1)
            if let reported = byParty["jinshan-public-security"]?.reportedInAt, let eta = byParty["jinshan-public-security"]?.eta {
                #expect(eta - reported == 15 * 60_000, "--eta 15m is counted from the report-in")
            }
            if let reported = byParty["shanta-village-grid"]?.reportedInAt {
                #expect(byParty["shanta-village-grid"]?.eta == reported, "--eta 0s means already on site")
            }
            #expect(view.timeline.filter { $0.text.hasPrefix("reported in") }.count == 3, "\(view.timeline)")

            // A summoned party sees the summons too; a party that took no part does not.
            let seenByGrid = try await cast.run("shanta-village-grid", ["summons", "show", id, "--json"])
            try seenByGrid.expectSuccess("summons show by a summoned party")
            #expect(try seenByGrid.decode(SummonsView.self) == view)
            let seenByStranger = try await cast.run("pinghu-public-security", ["summons", "show", id, "--json"])
            seenByStranger.expectRefusal("not-authorized", "summons show by a party that took no part")

            // Evaluations wait for the close, and only the summoner closes.
            let early = try await cast.run("joint-command", ["evaluate", id, "--party", "jinshan-public-security", "--score", "5"])
            early.expectRefusal("invalid-transition", "an evaluation while the summons is open")
            let closedByOther = try await cast.run("guangchen-town", ["summons", "close", id, "--resolution", "not mine to close"])
            closedByOther.expectRefusal("invalid-transition", "a close by a summoned party")
            let closed = try await cast.run("joint-command", ["summons", "close", id, "--resolution", "digging stopped, excavator seized"])
            try closed.expectSuccess("summons close")
            #expect(closed.stdout.contains("closed \(id)"), "\(closed)")
            let late = try await cast.run("shanta-village-grid", ["report-in", id, "--eta", "0s"])
            late.expectRefusal("invalid-transition", "a report-in after the close")

            for (party, score) in [("jinshan-public-security", 5), ("guangchen-town", 4), ("shanta-village-grid", 3)] {
                let evaluated = try await cast.run("joint-command", ["evaluate", id, "--party", party, "--score", String(score), "--comment", "score \(score)"])
                try evaluated.expectSuccess("evaluate \(party)")
                #expect(evaluated.stdout.contains("evaluated \(party) on \(id): \(score)/5"), "\(evaluated)")
            }
            let twice = try await cast.run("joint-command", ["evaluate", id, "--party", "guangchen-town", "--score", "1"])
            twice.expectRefusal("invalid-transition", "a second evaluation of guangchen-town")

            let final = try await cast.run("joint-command", ["summons", "show", id, "--json"])
            try final.expectSuccess("summons show --json after the evaluations")
            let closedView = try final.decode(SummonsView.self)
            #expect(closedView.state == "closed")
            #expect(closedView.resolution == "digging stopped, excavator seized")
            #expect(closedView.closedAt != nil)
            #expect(closedView.parties.map(\.score) == [5, 4, 3])
            #expect(closedView.parties.map(\.comment) == ["score 5", "score 4", "score 3"])
            #expect(closedView.parties.map(\.reportedInAt) == view.parties.map(\.reportedInAt), "the refused report-in changed nothing")

            let listed = try await cast.run("joint-command", ["summons", "list", "--json"])
            try listed.expectSuccess("summons list --json")
            let views = try listed.decode([SummonsView].self)
            #expect(views.map(\.id) == [id])
            #expect(views.first == closedView)
            let openOnly = try await cast.run("joint-command", ["summons", "list", "--open", "--json"])
            try openOnly.expectSuccess("summons list --open --json")
            #expect(try openOnly.decode([SummonsView].self).isEmpty)
            let table = try await cast.run("joint-command", ["summons", "show", id])
            try table.expectSuccess("summons show (table)")
            #expect(table.stdout.contains("[closed]") && table.stdout.contains("guangchen-town") && table.stdout.contains("4/5 score 4"), "\(table)")
        }
    }

    @Test func aHandoffFromDispatchToRating() async throws {
        let cast = try WorkflowCast.start()
        defer { cast.finish() }
        try await cast.whileReporting {
            // The grid's inbox admits only the tasks on its admission list.
            let refused = try await cast.run("joint-command", [
                "handoff", "dispatch", "--to", "shanta-village-grid", "--task", "traffic-control", "--title", "Direct traffic",
                "--due", "1d", "--reference", "JC-0001",
            ])
            refused.expectRefusal("not-admitted", "a dispatch of a task the grid's admission list does not name")

            let dispatched = try await cast.run("joint-command", [
                "handoff", "dispatch", "--to", "shanta-village-grid", "--task", "river-patrol", "--title", "Patrol the restored river bank",
                "--description", "Daily patrol until the refilled pit has settled", "--due", "1d", "--reference", "LX-2026-0612-03",
            ])
            try dispatched.expectSuccess("handoff dispatch")
            let id = dispatched.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.wholeMatch(of: /h-[0-9]+/) != nil, "handoff dispatch must print the hand-off id alone, printed: \(dispatched)")

            let early = try await cast.run("shanta-village-grid", ["handoff", "complete", id, "--result", "nothing yet"])
            early.expectRefusal("invalid-transition", "a completion before the acceptance")
            let notTheAssignee = try await cast.run("jinshan-public-security", ["handoff", "accept", id])
            notTheAssignee.expectRefusal("invalid-transition", "an acceptance by a party that is not the assignee")

            let accepted = try await cast.run("shanta-village-grid", ["handoff", "accept", id, "--note", "grid worker Chen takes it"])
            try accepted.expectSuccess("handoff accept")
            #expect(accepted.stdout.contains("accepted \(id)"), "\(accepted)")
            let progress = try await cast.run("shanta-village-grid", ["handoff", "progress", id, "--note", "fence posts ordered"])
            try progress.expectSuccess("handoff progress")
            let earlyRating = try await cast.run("joint-command", ["handoff", "rate", id, "--score", "5"])
            earlyRating.expectRefusal("invalid-transition", "a rating before the completion")
            let completed = try await cast.run("shanta-village-grid", ["handoff", "complete", id, "--result", "bank fenced, no new digging"])
            try completed.expectSuccess("handoff complete")
            #expect(completed.stdout.contains("completed \(id)"), "\(completed)")
            let ratedByAssignee = try await cast.run("shanta-village-grid", ["handoff", "rate", id, "--score", "5"])
            ratedByAssignee.expectRefusal("invalid-transition", "a rating by the assignee")
            let rated = try await cast.run("joint-command", ["handoff", "rate", id, "--score", "4", "--rater", "citizen", "--comment", "return call"])
            try rated.expectSuccess("handoff rate")
            #expect(rated.stdout.contains("rated \(id): 4/5"), "\(rated)")

            let shown = try await cast.run("joint-command", ["handoff", "show", id, "--json"])
            try shown.expectSuccess("handoff show --json")
            let view = try shown.decode(HandoffView.self)
            #expect(view.id == id)
            #expect(view.state == "rated")
            #expect(view.taskType == "river-patrol")
            #expect(view.title == "Patrol the restored river bank")
            #expect(view.reference == "LX-2026-0612-03")
            #expect(view.originator == "jinshan/joint-command")
            #expect(view.assignee == "jinshan/shanta-village-grid")
            #expect(view.result == "bank fenced, no new digging")
            #expect(view.citizenScore == 4)
            #expect(view.originatorScore == nil)
            #expect(view.overdue == false)
            let due = view.due - view.dispatchedAt
            #expect(abs(due - 86_400_000) < 60_000, "--due 1d is a day after the dispatch (the tool computes it): \(due) ms")
            #expect(view.legs.count == 1)
            if let leg = view.legs.first {
                #expect(leg.assignee == "jinshan/shanta-village-grid")
                #expect(leg.acceptedAt != nil && leg.completedAt != nil)
                #expect(leg.rejectedAt == nil && leg.transferredAt == nil && leg.escalatedAt == nil)
                if let accepted = leg.acceptedAt, let completed = leg.completedAt {
                    #expect(leg.receivedAt <= accepted && accepted <= completed)
                }
            }
            #expect(view.timeline.map(\.text).contains("progress: fence posts ordered"), "\(view.timeline)")

            let seenByGrid = try await cast.run("shanta-village-grid", ["handoff", "list", "--json"])
            try seenByGrid.expectSuccess("handoff list --json by the assignee")
            #expect(try seenByGrid.decode([HandoffView].self) == [view])
            let openOnly = try await cast.run("joint-command", ["handoff", "list", "--open", "--json"])
            try openOnly.expectSuccess("handoff list --open --json")
            #expect(try openOnly.decode([HandoffView].self).isEmpty)
            let seenByStranger = try await cast.run("pinghu-public-security", ["handoff", "show", id, "--json"])
            seenByStranger.expectRefusal("not-authorized", "handoff show by a party that took no part")
        }
    }

    /// The workflows are rebuilt from the log when the broker starts again: the summons reads
    /// the same, a repeated report-in is still refused, ids go on, and a deadline that passed
    /// while the broker was down is escalated once it is back. (The broker is down for twenty
    /// minutes of its clock: the restarted process's clock reads that much later.)
    @Test func aSummonsOutlivesABrokerRestartAndADeadlineMissedWhileItWasDownIsEscalated() async throws {
        var cast = try WorkflowCast.start()
        defer { cast.finish() }
        try await cast.whileReporting {
            let opened = try await cast.run("langxia-town", ["summon", "--to", "jinshan-public-security,shanta-village-grid",
                                                             "--title", "Fallen tree on the levee road", "--deadline", "30m"])
            try opened.expectSuccess("summon")
            let id = opened.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try await cast.run("jinshan-public-security", ["report-in", id, "--eta", "10m"]).expectSuccess("report-in")
            let short = try await cast.run("langxia-town", ["summon", "--to", "guangchen-town", "--title", "Checkpoint at the bridge",
                                                            "--deadline", "10m"])
            try short.expectSuccess("summon with a 10-minute deadline")
            let shortID = short.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let before = try await cast.run("langxia-town", ["summons", "list", "--json"])
            try before.expectSuccess("summons list --json before the restart")
            let beforeViews = try before.decode([SummonsView].self)
            let shortSummons = try #require(beforeViews.first { $0.id == shortID })
            let shortDeadline = shortSummons.deadline
            #expect(shortSummons.parties.first?.escalatedAt == nil, "the short deadline has not passed before the broker stops")

            #expect(cast.broker.stop(removingDirectory: false) == 0)
            let downtime: Int64 = 20 * 60_000
            cast = try cast.restarted(clock: try cast.clock.advanced(by: downtime))
            #expect(cast.clock.now() > shortDeadline, "the short deadline passed while the broker was down")
            #expect(cast.clock.now() < (try #require(beforeViews.first { $0.id == id })).deadline, "the 30-minute one did not")

            let after = try await cast.run("langxia-town", ["summons", "show", id, "--json"])
            try after.expectSuccess("summons show --json after the restart")
            #expect(try after.decode(SummonsView.self) == beforeViews.first { $0.id == id }, "the summons reads the same after the restart")
            let again = try await cast.run("jinshan-public-security", ["report-in", id, "--eta", "5m"])
            again.expectRefusal("invalid-transition", "a repeated report-in after the restart")
            try await cast.run("shanta-village-grid", ["report-in", id, "--eta", "0s"]).expectSuccess("report-in after the restart")
            let next = try await cast.run("langxia-town", ["summon", "--to", "jinshan-public-security", "--title", "Another", "--deadline", "1h"])
            try next.expectSuccess("summon after the restart")
            #expect(next.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "s-3", "ids go on after the restart: \(next)")

            var escalated: SummonedPartyView?
            try await eventually("the escalation of the deadline missed while the broker was down", pollingEvery: .milliseconds(200)) {
                let shown = try await cast.run("langxia-town", ["summons", "show", shortID, "--json"])
                try shown.expectSuccess("summons show --json of the missed summons")
                escalated = try shown.decode(SummonsView.self).parties.first
                return escalated?.escalatedAt != nil
            }
            #expect(escalated?.party == "guangchen-town")
            #expect(escalated?.status == "missed", "\(String(describing: escalated))")
            #expect(escalated?.escalatedAt.map { $0 >= shortDeadline } == true,
                    "the deadline missed while the broker was down is escalated after it starts: \(String(describing: escalated))")
        }
    }

    /// `muster report` asked of the broker equals the same report computed offline from its
    /// data directory once the broker has stopped (the period ends in the past for both), and
    /// its CSV has a header and a line per party. The test moves the broker's clock (and the
    /// tool's) past the 30-minute deadline once the on-time party has reported in.
    @Test func theReportOnlineEqualsTheReportOfflineAndItsCSVHasALinePerParty() async throws {
        let cast = try WorkflowCast.start(clock: .movedByHand())
        defer { cast.finish() }
        try await cast.whileReporting {
            let from = WorkflowTime.rfc3339(cast.clock.now() - 60_000)
            // One party reports in on time, one late and one not at all.
            let opened = try await cast.run("joint-command", [
                "summon", "--to", "jinshan-public-security,guangchen-town,shanta-village-grid", "--title", "Flooded underpass",
                "--deadline", "30m",
            ])
            try opened.expectSuccess("summon")
            let id = opened.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let onTime = try await cast.run("jinshan-public-security", ["report-in", id, "--eta", "5m"])
            try onTime.expectSuccess("report-in on time")

            let dispatched = try await cast.run("joint-command", [
                "handoff", "dispatch", "--to", "shanta-village-grid", "--task", "drain-clearing", "--title", "Clear the drains",
                "--due", "2d", "--reference", "JC-2026-0613-07",
            ])
            try dispatched.expectSuccess("handoff dispatch")
            let handoff = dispatched.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            for (party, arguments) in [("shanta-village-grid", ["handoff", "accept", handoff]),
                                       ("shanta-village-grid", ["handoff", "complete", handoff, "--result", "drains cleared"]),
                                       ("joint-command", ["handoff", "rate", handoff, "--score", "5", "--rater", "citizen"])] {
                try await cast.run(party, arguments).expectSuccess(arguments.prefix(2).joined(separator: " "))
            }

            // Half an hour passes; the broker escalates the parties missing at the deadline.
            try await cast.broker.advanceClock(by: 31 * 60_000)
            try await eventually("the escalation of guangchen-town", pollingEvery: .milliseconds(200)) {
                let shown = try await cast.run("joint-command", ["summons", "show", id, "--json"])
                try shown.expectSuccess("summons show --json")
                return try shown.decode(SummonsView.self).parties.first { $0.party == "guangchen-town" }?.escalatedAt != nil
            }
            let late = try await cast.run("guangchen-town", ["report-in", id, "--eta", "0s", "--note", "sorry, late"])
            try late.expectSuccess("report-in after the deadline")

            // The period ends now; a second passes, so that both runs judge as of its end.
            let end = cast.clock.now() + 200
            let to = WorkflowTime.rfc3339(end)
            try await cast.broker.advanceClock(by: 1_000)
            #expect(cast.clock.now() > end)
            let period = ["report", "--from", from, "--to", to]

            let online = try await cast.run("discipline-inspector", period + ["--format", "json"])
            try online.expectSuccess("report --format json (online)")
            let csv = try await cast.run("langxia-town", period + ["--format", "csv"])
            try csv.expectSuccess("report --format csv (online)")
            let table = try await cast.run("langxia-town", period)
            try table.expectSuccess("report (table)")
            let summonsOnline = try await cast.run("joint-command", ["summons", "show", id, "--json"])
            try summonsOnline.expectSuccess("summons show --json (online)")
            let handoffOnline = try await cast.run("joint-command", ["handoff", "show", handoff, "--json"])
            try handoffOnline.expectSuccess("handoff show --json (online)")

            #expect(cast.broker.stop(removingDirectory: false) == 0, "the broker stops cleanly")
            let offline = try await cast.runOffline(Array(period) + ["--format", "json"])
            try offline.expectSuccess("report --format json --data (offline)")
            let offlineCSV = try await cast.runOffline(Array(period) + ["--format", "csv"])
            try offlineCSV.expectSuccess("report --format csv --data (offline)")

            // The views, too, are the same from the broker and from its log.
            let summonsOffline = try await cast.runOffline(["summons", "show", id, "--json"])
            try summonsOffline.expectSuccess("summons show --json --data (offline)")
            #expect(try summonsOffline.decode(SummonsView.self) == (try summonsOnline.decode(SummonsView.self)),
                    "summons show online and offline differ:\n--- online ---\n\(summonsOnline.stdout)\n--- offline ---\n\(summonsOffline.stdout)")
            let handoffOffline = try await cast.runOffline(["handoff", "show", handoff, "--json"])
            try handoffOffline.expectSuccess("handoff show --json --data (offline)")
            #expect(try handoffOffline.decode(HandoffView.self) == (try handoffOnline.decode(HandoffView.self)),
                    "handoff show online and offline differ:\n--- online ---\n\(handoffOnline.stdout)\n--- offline ---\n\(handoffOffline.stdout)")

            #expect(online.stdout == offline.stdout, "the broker's report and the one computed from its log differ:\n--- online ---\n\(online.stdout)\n--- offline ---\n\(offline.stdout)")
            #expect(csv.stdout == offlineCSV.stdout)
            let assessment = try online.decode(Assessment.self)
            #expect(try offline.decode(Assessment.self) == assessment)
            #expect(assessment.from == WorkflowTime.milliseconds(rfc3339: from))
            #expect(assessment.to == end)
            #expect(assessment.rows.map(\.party) == ["jinshan-public-security", "shanta-village-grid", "guangchen-town"],
                    "rows in jurisdiction then party order")
            let rows = Dictionary(uniqueKeysWithValues: assessment.rows.map { ($0.party, $0) })
            #expect(rows.values.allSatisfy { $0.summonsReceived == 1 })
            #expect(rows["jinshan-public-security"]?.reportedInOnTime == 1)
            #expect(rows["jinshan-public-security"]?.onTimePercent == 100)
            #expect(rows["guangchen-town"]?.reportedInLate == 1)
            #expect(rows["guangchen-town"]?.onTimePercent == 0)
            #expect(rows["shanta-village-grid"]?.missed == 1)
            #expect(rows["shanta-village-grid"]?.handoffsReceived == 1)
            #expect(rows["shanta-village-grid"]?.accepted == 1)
            #expect(rows["shanta-village-grid"]?.citizenRating == 5)
            #expect(rows["shanta-village-grid"]?.medianCompletionMilliseconds != nil)

            let lines = csv.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            #expect(lines.count == 1 + assessment.rows.count, "a header and one line per party:\n\(csv.stdout)")
            #expect(lines.first?.hasPrefix("party,jurisdiction,summons,on_time,on_time_%,late,missed,median_report_in_seconds,") == true,
                    "\(lines.first ?? "")")
            let headerFields = lines.first?.split(separator: ",", omittingEmptySubsequences: false).count ?? 0
            for (line, row) in zip(lines.dropFirst(), assessment.rows) {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                #expect(fields.count == headerFields, "\(line)")
                #expect(fields.prefix(2) == [row.party, row.jurisdiction], "\(line)")
                #expect(fields.dropFirst(2).first == "1", "one summons received: \(line)")
            }
            #expect(lines.dropFirst().first { $0.hasPrefix("guangchen-town,pinghu,1,0,0.0,1,0,") } != nil, "\(csv.stdout)")
            #expect(lines.dropFirst().first { $0.hasPrefix("shanta-village-grid,jinshan,1,0,0.0,0,1,") } != nil, "\(csv.stdout)")
            #expect(table.stdout.contains("PARTY") && table.stdout.contains("guangchen-town"), "\(table)")
        }
    }
}

extension WorkflowCommandTests {
    /// A dispatch the grid's admission list refuses counts in the sender's "admission refusals"
    /// in the report from the log; the broker's own report must count it too (the assessment's
    /// promise: the broker's answer and an auditor's computation from a copy of the log agree).
    @Test func theBrokersReportCountsAnAdmissionRefusalAsTheReportFromItsLogDoes() async throws {
        var cast = try WorkflowCast.start()
        defer { cast.finish() }
        try await cast.whileReporting {
            let from = WorkflowTime.rfc3339(cast.clock.now() - 60_000)
            let refused = try await cast.run("joint-command", [
                "handoff", "dispatch", "--to", "shanta-village-grid", "--task", "traffic-control", "--title", "Direct traffic",
                "--due", "1d", "--reference", "JC-0002",
            ])
            refused.expectRefusal("not-admitted", "a dispatch of a task the grid's admission list does not name")
            try await cast.run("joint-command", ["handoff", "dispatch", "--to", "shanta-village-grid", "--task", "river-patrol",
                                                 "--title", "Patrol", "--due", "1d", "--reference", "JC-0003"]).expectSuccess("an admitted dispatch")
            let end = cast.clock.now() + 200
            try await eventually("the period's end to pass") { cast.clock.now() > end }
            let period = ["report", "--from", from, "--to", WorkflowTime.rfc3339(end), "--format", "json"]

            let online = try await cast.run("discipline-inspector", period)
            try online.expectSuccess("report --format json (online)")
            cast = try cast.restarted()
            let afterRestart = try await cast.run("discipline-inspector", period)
            try afterRestart.expectSuccess("report --format json (online, after a restart)")
            #expect(cast.broker.stop(removingDirectory: false) == 0)
            let offline = try await cast.runOffline(period)
            try offline.expectSuccess("report --format json --data (offline)")

            let fromLog = try offline.decode(Assessment.self)
            #expect(fromLog.rows.first { $0.party == "joint-command" }?.admissionRefusals == 1, "the log holds the refusal: \(offline.stdout)")
            #expect(try afterRestart.decode(Assessment.self) == fromLog, "a restarted broker rebuilds the count from its log")
            #expect(try online.decode(Assessment.self) == fromLog,
                    "the running broker's report must count the admission refusal as its log does:\n--- online ---\n\(online.stdout)\n--- offline ---\n\(offline.stdout)")
        }
    }

    /// A summoned department adds a progress note with `muster summons progress`, as the
    /// tool's help, the workflow (progress by the summoner or a summoned party) and the refusal
    /// of a repeated report-in ("send a progress note instead") all say it can.
    @Test func aSummonedDepartmentAddsAProgressNote() async throws {
        let cast = try WorkflowCast.start()
        defer { cast.finish() }
        try await cast.whileReporting {
            let opened = try await cast.run("langxia-town", ["summon", "--to", "jinshan-public-security,shanta-village-grid",
                                                             "--title", "Oil spill at the Shanta lock", "--deadline", "30m"])
            try opened.expectSuccess("summon")
            let id = opened.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try await cast.run("jinshan-public-security", ["report-in", id, "--eta", "10m"]).expectSuccess("report-in")
            let again = try await cast.run("jinshan-public-security", ["report-in", id, "--eta", "20m"])
            again.expectRefusal("invalid-transition", "a repeated report-in")
            #expect(again.stderr.contains("send a progress note instead"), "\(again)")

            try await cast.run("langxia-town", ["summons", "progress", id, "--note", "booms ordered"]).expectSuccess("progress by the summoner")
            let department = try await cast.run("jinshan-public-security", ["summons", "progress", id, "--note", "delayed 10 minutes by traffic"])
            #expect(department.status == 0, "a summoned department's progress note must be taken: \(department)")
            let grid = try await cast.run("shanta-village-grid", ["summons", "progress", id, "--note", "sandbags at the lock"])
            #expect(grid.status == 0, "a summoned grid's progress note must be taken: \(grid)")

            let shown = try await cast.run("langxia-town", ["summons", "show", id, "--json"])
            try shown.expectSuccess("summons show --json")
            let notes = try shown.decode(SummonsView.self).timeline.filter { $0.text.hasPrefix("progress: ") }.map { "\($0.party) \($0.text)" }
            #expect(notes == ["jinshan/langxia-town progress: booms ordered",
                              "jinshan/jinshan-public-security progress: delayed 10 minutes by traffic",
                              "jinshan/shanta-village-grid progress: sandbags at the lock"])
        }
    }
}

// MARK: - The cast: a broker with the shipped topics and one certificate per party

/// A broker with the shipped topics, and one client certificate per party (issued once).
final class WorkflowCast: Sendable {
    let broker: BrokerProcess
    let files: [String: ClientFiles]

    private init(broker: BrokerProcess, files: [String: ClientFiles]) {
        self.broker = broker
        self.files = files
    }

    /// The broker's clock; its tools run on it too.
    var clock: BrokerClock { broker.clock }

    /// `settings` is added to the broker's muster.yaml.
    static func start(clock: BrokerClock = .wall, settings: String = "") throws -> WorkflowCast {
        let broker = try BrokerProcess.start(settings: settings, topics: BrokerProcess.shippedTopics, clock: clock)
        do {
            var files: [String: ClientFiles] = [:]
            for party in BrokerProcess.parties { files[party.id] = try broker.pki.client(party.id, jurisdiction: party.jurisdiction) }
            return WorkflowCast(broker: broker, files: files)
        } catch {
            broker.stop()
            throw error
        }
    }

    /// Runs `body`; if it throws, records the broker's output with the failure.
    func whileReporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            Issue.record("broker output:\n\(broker.log)")
            throw error
        }
    }

    func finish() {
        broker.stop()
    }

    /// Stops the broker keeping its directory, and starts it again on the same data and
    /// certificates, on the same clock unless `clock` says otherwise.
    func restarted(clock: BrokerClock? = nil) throws -> WorkflowCast {
        broker.stop(removingDirectory: false)
        return WorkflowCast(broker: try broker.restart(clock: clock), files: files)
    }

    /// The `muster` flags that connect as `party`.
    func flags(_ party: String) -> [String] {
        let files = files[party]!
        return ["--server", "\(broker.address)", "--cert", files.certificate, "--key", files.key, "--ca", files.authority]
    }

    /// The MUSTER_* variables that connect as `party`.
    func environment(_ party: String) -> [String: String] {
        let files = files[party]!
        return ["MUSTER_SERVER": "\(broker.address)", "MUSTER_CERT": files.certificate, "MUSTER_KEY": files.key, "MUSTER_CA": files.authority]
    }

    /// Runs `muster ARGUMENTS` as `party` (flags, or the environment), on the broker's clock.
    func run(_ party: String, _ arguments: [String], connectionFromEnvironment: Bool = false) async throws -> ProgramRun {
        if connectionFromEnvironment {
            return try await runMuster(arguments, environment: environment(party).merging(clock.environment) { $1 })
        }
        return try await runMuster(arguments + flags(party), environment: clock.environment)
    }

    /// Runs `muster ARGUMENTS --data DIRECTORY` on the broker's data directory (offline), on the broker's clock.
    func runOffline(_ arguments: [String]) async throws -> ProgramRun {
        try await runMuster(arguments + ["--data", broker.dataDirectory], environment: clock.environment)
    }
}
