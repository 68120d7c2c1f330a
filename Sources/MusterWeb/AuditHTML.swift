import Foundation

/// The auditors' page: the log's head and how it was checked, acknowledgements still owed per
/// party, the policy's refusals by rule, and each federation link's state and lag.
struct AuditHTML {
    let language: BoardLanguage

    private func label(_ label: BoardLabel) -> String { HTML.escape(label.text(language)) }

    func section(_ audit: AuditView) -> String {
        var html = "<section id=\"audit\">\n<h2>\(label(.logHead))</h2>\n<dl class=\"facts\">"
            + "<dt>\(label(.logID))</dt><dd><code>\(HTML.escape(audit.logID))</code> (\(HTML.escape(audit.jurisdiction)))</dd>"
            + "<dt>\(label(.logHead))</dt><dd><code id=\"log-head\">\(HTML.escape(audit.head ?? "–"))</code></dd>"
            + "<dt>\(label(.nextOffset))</dt><dd>\(audit.nextOffset)</dd>"
            + "<dt>\(label(.verification))</dt><dd id=\"verification\">\(HTML.escape(audit.verification))</dd></dl>\n"
        html += "<h2>\(label(.pendingAcks))</h2>\n" + table([.party, .destination, .count, .oldest], audit.pending.map {
            [HTML.escape($0.party), HTML.escape($0.destination), "\($0.count)", HTML.time($0.oldestSince)]
        }, id: "pending")
        html += "<h2>\(label(.refusalsByRule))</h2>\n" + table([.rule, .code, .count], audit.refusals.map {
            [HTML.escape($0.rule), HTML.escape($0.code), "\($0.count)"]
        }, id: "refusals")
        html += "<h2>\(label(.links))</h2>\n" + table([.peer, .lane, .state, .backlog, .lag, .lastError], audit.links.map {
            [HTML.escape($0.peer), HTML.escape($0.lane), HTML.escape($0.state), $0.backlogRecords.map { "\($0)" } ?? "–",
             $0.lagSeconds.map { String(format: "%.1f s", $0) } ?? "–", HTML.escape($0.lastError ?? "")]
        }, id: "links")
        return html + "</section>\n"
    }

    private func table(_ headings: [BoardLabel], _ rows: [[String]], id: String) -> String {
        guard !rows.isEmpty else { return "<p class=\"empty\" id=\"\(id)\">\(label(.none))</p>\n" }
        return "<table id=\"\(id)\"><thead><tr>" + headings.map { "<th>\(label($0))</th>" }.joined() + "</tr></thead><tbody>\n"
            + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>\n" }.joined() + "</tbody></table>\n"
    }
}
