import MusterWorkflow

/// The assessment (考核) as a table and as two charts drawn by the server in inline SVG: the
/// on-time rate per party, and the median and 90th-percentile report-in times.
struct AssessmentHTML {
    let language: BoardLanguage
    /// Party id → the party's own name.
    var names: [String: String] = [:]

    private func label(_ label: BoardLabel) -> String { HTML.escape(label.text(language)) }

    func section(_ assessment: Assessment) -> String {
        var html = "<section id=\"assessment\">\n<h2>\(label(.assessment))</h2>\n"
        guard !assessment.rows.isEmpty else { return html + "<p class=\"empty\">\(label(.noAssessment))</p></section>\n" }
        let summoned = assessment.rows.filter { $0.summonsReceived > 0 }
        if !summoned.isEmpty { html += onTimeChart(summoned) + reportInChart(summoned) }
        let completing = assessment.rows.filter { $0.medianCompletionMilliseconds != nil }
        if !completing.isEmpty { html += completionChart(completing) }
        html += table(assessment.rows)
        return html + "</section>\n"
    }

    private func table(_ rows: [Assessment.Row]) -> String {
        let headings: [BoardLabel] = [.party, .summonsesReceived, .onTime, .late, .missed, .onTimeRate, .medianReportIn, .p90ReportIn,
                                      .averageEvaluation, .handoffsReceived, .medianCompletion, .citizenRating, .admissionRefusals]
        var html = "<table class=\"assessment\"><thead><tr>" + headings.map { "<th>\(label($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for row in rows {
            let cells = [
                HTML.party("\(row.jurisdiction)/\(row.party)", names: names), "\(row.summonsReceived)", "\(row.reportedInOnTime)", "\(row.reportedInLate)",
                "\(row.missed)", row.onTimePercent.map { "\(Int($0.rounded()))%" } ?? "–", HTML.duration(row.medianReportInMilliseconds),
                HTML.duration(row.p90ReportInMilliseconds), row.averageEvaluation.map { "\($0)" } ?? "–", "\(row.handoffsReceived)",
                HTML.duration(row.medianCompletionMilliseconds), row.citizenRating.map { "\($0)" } ?? "–", "\(row.admissionRefusals)",
            ]
            html += "<tr data-party=\"\(HTML.escape(row.party))\">" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    private static let rowHeight = 26
    private static let labelWidth = 190
    private static let barWidth = 420

    private func onTimeChart(_ rows: [Assessment.Row]) -> String {
        let height = rows.count * Self.rowHeight + 30
        var svg = chartStart(.chartOnTime, id: "chart-on-time", height: height)
        for (index, row) in rows.enumerated() {
            let y = index * Self.rowHeight + 4
            let percent = row.onTimePercent ?? 0
            let width = Int(Double(Self.barWidth) * percent / 100)
            svg += partyLabel(row, y: y)
            svg += "<rect class=\"track\" x=\"\(Self.labelWidth)\" y=\"\(y)\" width=\"\(Self.barWidth)\" height=\"18\"/>"
            svg += "<rect class=\"bar on-time\" x=\"\(Self.labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"18\"><title>\(Int(percent.rounded()))%</title></rect>"
            svg += "<text x=\"\(Self.labelWidth + Self.barWidth + 6)\" y=\"\(y + 14)\">\(Int(percent.rounded()))%</text>\n"
        }
        return svg + "</svg></figure>\n"
    }

    private func reportInChart(_ rows: [Assessment.Row]) -> String {
        let longest = max(1, rows.compactMap(\.p90ReportInMilliseconds).max() ?? 1)
        let height = rows.count * Self.rowHeight + 30
        var svg = chartStart(.chartReportIn, id: "chart-report-in", height: height)
        for (index, row) in rows.enumerated() {
            let y = index * Self.rowHeight + 4
            svg += partyLabel(row, y: y)
            if let p90 = row.p90ReportInMilliseconds {
                let width = Int(Double(Self.barWidth) * Double(p90) / Double(longest))
                svg += "<rect class=\"bar p90\" x=\"\(Self.labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"18\"><title>P90 \(HTML.duration(p90))</title></rect>"
            }
            if let median = row.medianReportInMilliseconds {
                let width = Int(Double(Self.barWidth) * Double(median) / Double(longest))
                svg += "<rect class=\"bar median\" x=\"\(Self.labelWidth)\" y=\"\(y + 5)\" width=\"\(width)\" height=\"8\"><title>\(HTML.duration(median))</title></rect>"
            }
            svg += "<text x=\"\(Self.labelWidth + Self.barWidth + 6)\" y=\"\(y + 14)\">\(HTML.duration(row.medianReportInMilliseconds)) / \(HTML.duration(row.p90ReportInMilliseconds))</text>\n"
        }
        return svg + "</svg></figure>\n"
    }

    /// The median time from receiving a hand-off to completing it, per party, with its citizen rating.
    private func completionChart(_ rows: [Assessment.Row]) -> String {
        let longest = max(1, rows.compactMap(\.medianCompletionMilliseconds).max() ?? 1)
        var svg = chartStart(.chartCompletion, id: "chart-completion", height: rows.count * Self.rowHeight + 30)
        for (index, row) in rows.enumerated() {
            let y = index * Self.rowHeight + 4
            let median = row.medianCompletionMilliseconds ?? 0
            let width = Int(Double(Self.barWidth) * Double(median) / Double(longest))
            svg += partyLabel(row, y: y)
            svg += "<rect class=\"bar completion\" x=\"\(Self.labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"18\"><title>\(HTML.duration(median))</title></rect>"
            svg += "<text x=\"\(Self.labelWidth + Self.barWidth + 6)\" y=\"\(y + 14)\">\(HTML.duration(median))"
                + (row.citizenRating.map { " · ★ \($0)" } ?? "") + "</text>\n"
        }
        return svg + "</svg></figure>\n"
    }

    private func chartStart(_ title: BoardLabel, id: String, height: Int) -> String {
        let width = Self.labelWidth + Self.barWidth + 110
        return "<figure class=\"chart\" id=\"\(id)\"><figcaption>\(label(title))</figcaption>"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"\(label(title))\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\">\n"
    }

    private func partyLabel(_ row: Assessment.Row, y: Int) -> String {
        "<text class=\"party\" x=\"\(Self.labelWidth - 8)\" y=\"\(y + 14)\" text-anchor=\"end\">\(HTML.escape(names[row.party] ?? "\(row.jurisdiction)/\(row.party)"))</text>"
    }
}
