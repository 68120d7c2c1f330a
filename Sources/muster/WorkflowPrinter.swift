import Foundation
import MusterBroker
import MusterWorkflow

/// Tables for people; `--json` prints the views themselves.
enum WorkflowPrinter {
    static func summons(_ view: SummonsView) -> String {
        var lines = ["\(view.id)  \(view.title)  [\(view.state)]",
                     "summoner \(view.summoner), severity \(view.severity), at \(view.location)",
                     "opened \(WorkflowText.time(view.openedAt)), deadline \(WorkflowText.time(view.deadline))"]
        if let resolution = view.resolution { lines.append("closed \(WorkflowText.time(view.closedAt)): \(resolution)") }
        lines.append("")
        let rows = view.parties.map { party in
            [party.party, party.jurisdiction, WorkflowText.clock(party.deliveredAt), WorkflowText.clock(party.ackedAt),
             WorkflowText.clock(party.reportedInAt), party.status,
             party.lateByMilliseconds.map(WorkflowTime.humanDuration) ?? "-",
             party.escalatedAt == nil ? "-" : "escalated " + WorkflowText.clock(party.escalatedAt),
             party.score.map { "\($0)/5" + (party.comment.map { " \($0)" } ?? "") } ?? "-"]
        }
        lines.append(AckTable.render(["PARTY", "JURISDICTION", "DELIVERED", "ACKED", "REPORTED IN", "STATUS", "LATE BY", "ESCALATION", "EVALUATION"], rows))
        lines.append("")
        lines.append(timeline(view.timeline))
        return lines.joined(separator: "\n")
    }

    static func summonsList(_ views: [SummonsView]) -> String {
        guard !views.isEmpty else { return "no summonses" }
        let rows = views.map { view in
            [view.id, view.state, view.summoner, WorkflowText.time(view.deadline), "\(view.reportedIn)/\(view.parties.count)",
             String(view.parties.filter { $0.status == "late" }.count), String(view.parties.filter { $0.status == "missed" }.count), view.title]
        }
        return AckTable.render(["ID", "STATE", "SUMMONER", "DEADLINE", "REPORTED IN", "LATE", "MISSED", "TITLE"], rows)
    }

    static func handoff(_ view: HandoffView) -> String {
        var lines = ["\(view.id)  \(view.title)  [\(view.state)\(view.overdue ? ", overdue" : "")]",
                     "task \(view.taskType), reference \(view.reference), from \(view.originator), with \(view.assignee)",
                     "dispatched \(WorkflowText.time(view.dispatchedAt)), due \(WorkflowText.time(view.due))"]
        if let result = view.result { lines.append("result: \(result)") }
        if let score = view.citizenScore { lines.append("citizen's rating: \(score)/5") }
        if let score = view.originatorScore { lines.append("originator's rating: \(score)/5") }
        lines.append("")
        let rows = view.legs.map { leg in
            [leg.assignee, WorkflowText.clock(leg.receivedAt), WorkflowText.clock(leg.deliveredAt), WorkflowText.clock(leg.ackedAt),
             WorkflowText.clock(leg.acceptedAt), WorkflowText.clock(leg.rejectedAt), WorkflowText.clock(leg.transferredAt),
             WorkflowText.clock(leg.completedAt), WorkflowText.clock(leg.escalatedAt)]
        }
        lines.append(AckTable.render(["ASSIGNEE", "RECEIVED", "DELIVERED", "ACKED", "ACCEPTED", "REJECTED", "TRANSFERRED", "COMPLETED", "ESCALATED"], rows))
        lines.append("")
        lines.append(timeline(view.timeline))
        return lines.joined(separator: "\n")
    }

    static func handoffList(_ views: [HandoffView]) -> String {
        guard !views.isEmpty else { return "no hand-offs" }
        let rows = views.map { [$0.id, $0.state + ($0.overdue ? " (overdue)" : ""), $0.taskType, $0.originator, $0.assignee, WorkflowText.time($0.due), $0.title] }
        return AckTable.render(["ID", "STATE", "TASK", "FROM", "ASSIGNEE", "DUE", "TITLE"], rows)
    }

    static func timeline(_ entries: [TimelineView]) -> String {
        entries.map { "\(WorkflowText.time($0.time))  \($0.party)  \($0.text)" }.joined(separator: "\n")
    }

    // MARK: Assessment

    static let assessmentHeader = [
        "party", "jurisdiction", "summons", "on time", "on time %", "late", "missed", "median report-in", "p90 report-in", "evaluation",
        "hand-offs", "accepted", "rejected", "transferred", "overdue", "median completion", "citizen rating", "admission refusals",
    ]

    static func assessmentCells(_ row: Assessment.Row, human: Bool) -> [String] {
        func duration(_ value: Int64?) -> String { value.map { human ? WorkflowTime.humanDuration($0) : String($0 / 1000) } ?? "" }
        func number(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "" }
        return [row.party, row.jurisdiction, String(row.summonsReceived), String(row.reportedInOnTime), number(row.onTimePercent),
                String(row.reportedInLate), String(row.missed), duration(row.medianReportInMilliseconds), duration(row.p90ReportInMilliseconds),
                number(row.averageEvaluation), String(row.handoffsReceived), String(row.accepted), String(row.rejected),
                String(row.transferred), String(row.overdue), duration(row.medianCompletionMilliseconds), number(row.citizenRating),
                String(row.admissionRefusals)]
    }

    static func assessmentTable(_ assessment: Assessment) -> String {
        guard !assessment.rows.isEmpty else { return "no summonses, hand-offs or admission refusals in the period" }
        let rows = assessment.rows.map { assessmentCells($0, human: true).map { $0.isEmpty ? "-" : $0 } }
        return AckTable.render(assessmentHeader.map { $0.uppercased() }, rows)
    }

    /// CSV (RFC 4180); durations in seconds.
    static func assessmentCSV(_ assessment: Assessment) -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        let header = assessmentHeader.map { $0.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_") }
            .map { $0.hasPrefix("median") || $0.hasPrefix("p90") ? $0 + "_seconds" : $0 }
        return ([header] + assessment.rows.map { assessmentCells($0, human: false) })
            .map { $0.map(field).joined(separator: ",") }.joined(separator: "\n")
    }
}
