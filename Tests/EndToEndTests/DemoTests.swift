import Foundation
import MusterTestSupport
import Testing
@testable import MusterWorkflow

/// `muster demo` plays the whole Jinshan–Pinghu story on a broker of its own, as a process
/// run from the project directory the way its help says.
@Suite("muster demo")
struct DemoTests {
    /// The package directory (the demo reads Config/ and Schemas/ relative to it).
    static let packageDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let summoned = ["jinshan-public-security", "guangchen-town", "langxia-agri-coop", "pinghu-public-security"]

    @Test func theDemoTellsTheWholeStoryAndEndsWithTheHeadOfAVerifiedLog() async throws {
        let run = try await runMuster(["demo", "--speed", "1200"], directory: Self.packageDirectory, timeout: .seconds(120))
        #expect(run.status == 0 && !run.timedOut, "muster demo failed: \(run)")
        let output = run.stdout
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func matching(_ parts: String...) -> [String] { lines.filter { line in parts.allSatisfy(line.contains) } }

        // The whistle, and a copy of s-1 in each summoned party's inbox.
        #expect(matching("langxia-town", "blows the whistle", "summons 4 parties").count == 1, "\(run)")
        let copies = matching("inbox: summons s-1", "acknowledged")
        #expect(copies.count == 4, "four inbox copies of s-1:\n\(copies.joined(separator: "\n"))\n\(run)")
        for party in Self.summoned {
            #expect(copies.filter { Self.actor(of: $0) == party }.count == 1, "\(party) gets one copy of s-1:\n\(copies.joined(separator: "\n"))")
        }

        // Pinghu public security is reminded, then escalated to the summoner and to its supervisor.
        let reminders = matching("inbox: reminder, s-1")
        #expect(reminders.map(Self.actor) == ["pinghu-public-security"], "only the missing party is reminded:\n\(reminders.joined(separator: "\n"))\n\(run)")
        let escalations = matching("ESCALATION", "pinghu-public-security did not report in to s-1")
        #expect(Set(escalations.map(Self.actor)) == ["langxia-town", "guangchen-town"],
                "the summoner and Pinghu public security's supervisor hear of it:\n\(escalations.joined(separator: "\n"))\n\(run)")
        #expect(matching("inbox: ESCALATION").count == escalations.count, "no other party is escalated:\n\(run)")

        let late = matching("reports in to s-1 LATE")
        #expect(late.map(Self.actor) == ["pinghu-public-security"], "\(run)")
        #expect(matching("reports in to s-1").count == 4, "\(run)")

        // The hand-off: rejected, re-routed by the township, completed by the grid.
        #expect(matching("rejects h-1").map(Self.actor) == ["jinshan-public-security"], "\(run)")
        #expect(matching("transfers h-1 to shanta-village-grid").map(Self.actor) == ["langxia-town"], "\(run)")
        #expect(matching("completes h-1").map(Self.actor) == ["shanta-village-grid"], "\(run)")

        // The story happens in order.
        let order = ["blows the whistle", "inbox: reminder, s-1", "ESCALATION", "reports in to s-1 LATE", "rejects h-1",
                     "transfers h-1 to shanta-village-grid", "completes h-1", "closes s-1"]
        let positions = order.map { step in lines.firstIndex { $0.contains(step) } }
        #expect(positions.allSatisfy { $0 != nil } && positions.compactMap { $0 } == positions.compactMap { $0 }.sorted(),
                "the steps come in the story's order \(order): \(positions)\n\(run)")

        // The summons table: Pinghu public security late and escalated.
        let summonsHeader = try #require(lines.firstIndex { $0.hasPrefix("Summons s-1, as `muster summons show s-1` prints it") }, "\(run)")
        let assessmentHeader = try #require(lines.firstIndex { $0.hasPrefix("Assessment, as `muster report") }, "\(run)")
        #expect(summonsHeader < assessmentHeader)
        let summonsTable = lines[summonsHeader..<assessmentHeader]
        #expect(summonsTable.contains { $0.hasPrefix("s-1  Illegal gold digging on the Shanta river bank  [closed]") }, "\(run)")
        let pinghuRow = summonsTable.first { $0.hasPrefix("pinghu-public-security ") }
        #expect(pinghuRow.map { Self.cells($0).contains("late") && $0.contains("escalated") } == true, "\(pinghuRow ?? "no row")\n\(run)")
        for party in Self.summoned where party != "pinghu-public-security" {
            let row = summonsTable.first { $0.hasPrefix(party + " ") }
            #expect(row.map { $0.contains("on time") && !$0.contains("escalated") } == true, "\(row ?? "no row for \(party)")\n\(run)")
        }

        // The assessment: a row for each summoned party.
        let assessment = lines[assessmentHeader...]
        let tableHeader = try #require(assessment.firstIndex { Self.cells($0).first == "PARTY" }, "no PARTY header:\n\(run)")
        #expect(lines[tableHeader].contains("JURISDICTION") && lines[tableHeader].contains("ON TIME"), "\(lines[tableHeader])")
        let rows = lines[(tableHeader + 1)...].prefix { !$0.isEmpty }
        for party in Self.summoned {
            #expect(rows.filter { Self.cells($0).first == party }.count == 1, "an assessment row for \(party):\n\(rows.joined(separator: "\n"))")
        }
        let pinghuAssessment = rows.first { Self.cells($0).first == "pinghu-public-security" }.map(Self.cells)
        #expect(pinghuAssessment?.prefix(7) == ["pinghu-public-security", "pinghu", "1", "0", "0.0", "1", "0"],
                "pinghu: 1 summons, 0 on time, 0.0%, 1 late, 0 missed: \(pinghuAssessment ?? [])")

        // The log: verified, and its head is the last record.
        let verified = try #require(lines.firstIndex { $0.hasPrefix("`muster log verify`: verified ") }, "\(run)")
        let count = try #require(Int(lines[verified].split(separator: " ")[4]), "\(lines[verified])")
        let head = try #require(lines[(verified + 1)...].first { !$0.isEmpty }, "\(run)")
        let match = try #require(head.wholeMatch(of: /head ([0-9]+):([0-9a-f]{64})/), "the line after the verification is the head: \(head)")
        #expect(Int(match.1).map { $0 + 1 } == count, "the head is record \(match.1) of \(count) (offsets count from 0): \(head)")
        #expect(count > 20, "\(lines[verified])")
        #expect(lines.last { !$0.isEmpty } == head, "the head is the last line:\n\(run)")
    }

    /// The party a story line is about: `+12:30  PARTY  text`.
    /// `muster demo --federated`: two brokers, a cut line, the summons judged on origin time, and
    /// an audit of both logs at the end.
    @Test func theFederatedDemoSurvivesTheCutLineAndEndsWithBothLogsVerified() async throws {
        let run = try await runMuster(["demo", "--federated", "--speed", "600"], directory: Self.packageDirectory, timeout: .seconds(150))
        #expect(run.status == 0 && !run.timedOut, "muster demo --federated failed: \(run)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func matching(_ parts: String...) -> [String] { lines.filter { line in parts.allSatisfy(line.contains) } }

        let copies = matching("inbox: summons jinshan.s-1", "acknowledged")
        #expect(Set(copies.map(Self.actor)) == ["jinshan-public-security", "guangchen-town", "pinghu-public-security"] && copies.count == 3, "\(run)")
        #expect(matching("guangchen-town", "reports in to jinshan.s-1").count == 1 && matching("guangchen-town", "LATE").isEmpty, "\(run)")
        #expect(matching("Jinshan's broker judges guangchen-town", "on time").count == 1, "reported during the cut, on time: \(run)")
        #expect(matching("Jinshan's broker judges pinghu-public-security", "late by").count == 1, "\(run)")
        // Only the cut makes Jinshan's broker escalate Guangchen town (its on-time report-in waited
        // behind the line); the escalation about Pinghu public security reaches its supervisor on
        // Pinghu's broker once the line is mended.
        #expect(matching("langxia-town", "ESCALATION, guangchen-town did not report in").count == 1, "\(run)")
        let supervisor = lines.firstIndex { $0.contains("guangchen-town") && $0.contains("ESCALATION, pinghu-public-security did not report in") }
        let mended = lines.firstIndex { $0.contains("the line is mended") }
        #expect(supervisor != nil && mended != nil && supervisor! > mended!, "\(run)")
        let order = ["blows the whistle", "the line between Jinshan's and Pinghu's brokers is cut", "guangchen-town            reports in",
                     "ESCALATION", "reports in to jinshan.s-1 LATE", "the line is mended", "Jinshan's broker judges", "transfers jinshan.h-1 to xinhua-village-grid",
                     "completes jinshan.h-1", "closes jinshan.s-1"]
        let positions = order.map { step in lines.firstIndex { $0.contains(step) } }
        #expect(positions.allSatisfy { $0 != nil } && positions.compactMap { $0 } == positions.compactMap { $0 }.sorted(),
                "the steps come in the story's order \(order): \(positions)\n\(run)")

        let rows = lines.filter { $0.hasPrefix("guangchen-town ") || $0.hasPrefix("pinghu-public-security ") }.map(Self.cells)
        #expect(rows.contains { $0.count > 7 && $0[0] == "guangchen-town" && $0[5] == "on time" && $0[7].hasPrefix("escalated") }, "\(rows)")
        #expect(rows.contains { $0.count > 5 && $0[0] == "pinghu-public-security" && $0[5] == "late" }, "\(rows)")
        #expect(lines.contains("Pinghu's broker shows the same summons, party for party and time for time."), "\(run)")
        #expect(matching("jinshan → pinghu:", "records stored").count == 1 && matching("pinghu → jinshan:", "records stored").count == 1, "\(run)")
        #expect(lines.contains("verified: everything that crossed is in place in both logs"), "\(run)")
    }

    static func actor(of line: String) -> String {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        return fields.count > 1 ? String(fields[1]) : ""
    }

    /// A table row's cells (columns are separated by two or more spaces).
    static func cells(_ line: String) -> [String] {
        line.split(separator: "  ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
