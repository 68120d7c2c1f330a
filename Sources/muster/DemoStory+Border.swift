import Foundation
import MusterNet
import MusterProtocol
import MusterWorkflow

/// The story across the border: each party connects to its own jurisdiction's broker, and the
/// line between the brokers is cut in the middle of the report-in window.
extension DemoStory {
    static let borderCast: [(party: String, jurisdiction: String)] = [
        ("langxia-town", "jinshan"), ("jinshan-public-security", "jinshan"),
        ("guangchen-town", "pinghu"), ("pinghu-public-security", "pinghu"), ("xinhua-village-grid", "pinghu"),
    ]

    /// Langxia town, on Jinshan's broker, summons Jinshan public security and two parties served
    /// by Pinghu's broker; the line between the brokers is cut; Guangchen town reports in on time
    /// during the cut and Pinghu public security late; Jinshan's broker, which owns the summons,
    /// escalates both at the deadline and judges each report-in by when it was made once the line
    /// is mended. A drain-clearing hand-off then crosses to Pinghu public security, which passes it
    /// on to the Xinhua village grid; the summons is closed, evaluated and the hand-off rated.
    func playAcrossTheBorder(lines: [BreakableLine]) async throws {
        let town = clients["langxia-town"]!
        clock.start()
        say("langxia-town", "blows the whistle on Jinshan's broker: illegal gold digging at the border river; summons 3 parties, "
            + "2 of them served by Pinghu's broker, to report in within 30 minutes")
        let summons = try await town.send(.summons, to: "/topic/summons", body: [
            "action": "open", "title": "Illegal gold digging on the border river",
            "description": "An excavator is digging the river bank on the Jinshan–Pinghu border; both sides are needed on site.",
            "location": ["name": "山塘河 (Shanta river, at the border)"], "severity": "high", "deadline": "PT30M",
            "summoned": ["jinshan-public-security", "guangchen-town", "pinghu-public-security"],
        ])
        ids.withLock { $0.summons = summons }
        try await waitFor("the three inbox copies, two of them across the border") { $0.filter { $0.hasPrefix("copy \(summons)") }.count == 3 }
        try await reportIn("jinshan-public-security", at: 5, people: ["Officer Zhang"], eta: "PT10M", note: "patrol car on the way")

        try await clock.wait(untilMinute: 8)
        say("—", "the line between Jinshan's and Pinghu's brokers is cut")
        for line in lines {
            line.blackhole()
            try await line.cut()
        }
        try await reportIn("guangchen-town", at: 12, people: ["Deputy mayor Shen"], eta: "PT12M", note: "crossing at the Guangchen bridge (to Pinghu's broker, during the cut)")
        try await waitFor("the escalation at the deadline") { $0.contains("escalation \(summons) langxia-town") }
        try await reportIn("pinghu-public-security", at: 34, people: ["Officer Gu"], eta: "PT0S", note: "on site; the duty car was out")

        try await clock.wait(untilMinute: 36)
        say("—", "the line is mended; what waited on each side crosses")
        for line in lines {
            line.pass()
            try await line.cut()  // the connections that hung during the cut reconnect now
        }
        try await waitFor("both report-ins to reach the summoner's broker", polling: { [self] in
            (try? await summonsView())?.parties.allSatisfy { $0.reportedInAt != nil } ?? false
        })
        let judged = try await summonsView()
        for party in judged.parties where party.jurisdiction == "pinghu" {
            say("langxia-town", "Jinshan's broker judges \(party.party): reported in at \(clock.elapsed(party.reportedInAt)), \(party.status)"
                + (party.lateByMilliseconds.map { " by \(WorkflowTime.humanDuration($0))" } ?? ""))
        }

        try await clock.wait(untilMinute: 40)
        say("langxia-town", "dispatches a drain-clearing hand-off to pinghu-public-security, across the border")
        let handoff = try await town.send(.handoff, to: "/topic/handoff", body: [
            "action": "dispatch", "taskType": "drain-clearing", "title": "Clear the drains the digging blocked",
            "description": "Mud from the pit blocked the village drains on the Pinghu side.",
            "assignee": "pinghu-public-security", "due": WorkflowTime.rfc3339(clock.now() + 86_400_000), "reference": "LX-2026-0612-04",
        ])
        ids.withLock { $0.handoff = handoff }
        try await waitFor("the hand-off in the bureau's inbox on Pinghu's broker") { $0.contains("copy \(handoff) pinghu-public-security") }
        try await step("pinghu-public-security", at: 42, ["action": "accept", "handoffId": handoff], "accepts \(handoff)")
        try await step("pinghu-public-security", at: 43, ["action": "transfer", "handoffId": handoff, "to": "xinhua-village-grid",
                                                          "reason": "drains are village work (Guangchen admission list)"], "transfers \(handoff) to xinhua-village-grid")
        try await waitFor("the hand-off in the grid's inbox") { $0.contains("copy \(handoff) xinhua-village-grid") }
        try await step("xinhua-village-grid", at: 45, ["action": "accept", "handoffId": handoff, "note": "grid worker Lu"], "accepts \(handoff)")
        try await step("xinhua-village-grid", at: 52, ["action": "complete", "handoffId": handoff, "result": "drains clear"], "completes \(handoff)")
        try await waitFor("the completion to reach Jinshan's broker", polling: { [self] in
            (try? await clients["langxia-town"]!.ask(.handoffShow, [QueryHeader.caseID: handoff], as: HandoffView.self))?.state == "completed"
        })

        try await clock.wait(untilMinute: 56)
        say("langxia-town", "closes \(summons) and evaluates the parties; rates \(handoff) for itself and for the citizen")
        try await town.send(.summons, to: "/topic/summons", body: ["action": "close", "summonsId": summons, "resolution": "digging stopped on both banks"])
        for (party, score) in [("jinshan-public-security", 5), ("guangchen-town", 5), ("pinghu-public-security", 3)] {
            try await town.send(.evaluation, to: "/topic/evaluation", body: ["summonsId": summons, "party": party, "score": score])
        }
        try await town.send(.handoff, to: "/topic/handoff", body: ["action": "rate", "handoffId": handoff, "score": 5, "rater": "originator"])
        try await town.send(.handoff, to: "/topic/handoff", body: ["action": "rate", "handoffId": handoff, "score": 4, "rater": "citizen"])
        try await waitFor("the evaluations to reach Pinghu's broker", polling: { [self] in
            (try? await summonsView(as: "guangchen-town")).map { $0.parties.allSatisfy { $0.score != nil } } ?? false
        })
    }
}
