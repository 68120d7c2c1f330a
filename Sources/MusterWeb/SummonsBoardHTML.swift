import MusterWorkflow

/// The live summons board: each summons, each summoned party's state, the countdown to the
/// deadline. `section` is what the page shows first and what the event stream sends again
/// whenever it changes.
struct SummonsBoardHTML {
    let language: BoardLanguage
    let viewer: BoardViewer
    /// Party id → the party's own name.
    var names: [String: String] = [:]

    private func label(_ label: BoardLabel) -> String { HTML.escape(label.text(language)) }

    /// The board's live part: `<section id="summons-board">`. On a page it carries the broker's
    /// clock and the countdowns' text; `streamed`, it carries neither (the stream sends the clock
    /// apart and the page's script writes the countdowns), so that it changes only with the summonses.
    func section(_ summonses: [SummonsView], now: Int64, streamed: Bool = false) -> String {
        let open = summonses.filter { $0.state == "open" }
        // Closed ones below the open ones, newest first (the source bounds how many it gives).
        let closed = summonses.filter { $0.state != "open" }.reversed()
        var html = "<section id=\"summons-board\"\(streamed ? "" : " data-now=\"\(now)\"")>\n<h2>\(label(.openSummonses)) (\(open.count))</h2>\n"
        if open.isEmpty { html += "<p class=\"empty\">\(label(.noSummonses))</p>\n" }
        for summons in open { html += card(summons, now: streamed ? nil : now) }
        if !closed.isEmpty {
            html += "<h2>\(label(.closedSummonses))</h2>\n"
            for summons in closed { html += card(summons, now: streamed ? nil : now) }
        }
        return html + "</section>\n"
    }

    /// `now` nil: the countdown is drawn empty, for the page's script to fill.
    private func card(_ summons: SummonsView, now: Int64?) -> String {
        let id = HTML.escape(summons.id)
        var html = "<article class=\"summons \(summons.state == "open" ? "open" : "closed") severity-\(HTML.escape(summons.severity))\" id=\"summons-\(id)\" data-summons=\"\(id)\">\n"
        html += "<header><h3>\(HTML.escape(summons.title))</h3><code>\(id)</code></header>\n<dl class=\"facts\">"
        html += "<dt>\(label(.summoner))</dt><dd>\(HTML.party(summons.summoner, names: names))</dd>"
        html += "<dt>\(label(.severity))</dt><dd>\(BoardLabel(rawValue: summons.severity).map(label) ?? HTML.escape(summons.severity))</dd>"
        html += "<dt>\(label(.location))</dt><dd>\(HTML.escape(summons.location))</dd>"
        html += "<dt>\(label(.opened))</dt><dd>\(HTML.time(summons.openedAt))</dd>"
        html += "<dt>\(label(.deadline))</dt><dd>\(HTML.time(summons.deadline))</dd>"
        if summons.state == "open" {
            let left = now.map { summons.deadline - $0 }
            let text = left.map { $0 >= 0 ? "\(label(.timeLeft)) \(HTML.duration($0))" : "\(label(.overdueBy)) \(HTML.duration(-$0))" } ?? ""
            html += "<dt>\(label(.timeLeft))</dt><dd><span class=\"countdown\" data-deadline=\"\(summons.deadline)\" "
                + "data-left=\"\(label(.timeLeft))\" data-over=\"\(label(.overdueBy))\">\(text)</span></dd>"
        } else {
            html += "<dt>\(label(.closed))</dt><dd>\(HTML.time(summons.closedAt)) \(HTML.escape(summons.resolution ?? ""))</dd>"
        }
        html += "</dl>\n<p class=\"tally\">\(label(.reportedIn)) \(summons.reportedIn) / \(summons.parties.count)</p>\n"
        html += "<table class=\"parties\"><thead><tr><th>\(label(.party))</th><th>\(label(.status))</th><th>\(label(.delivered))</th>"
            + "<th>\(label(.acknowledged))</th><th>\(label(.reportedIn))</th><th>\(label(.eta))</th><th>\(label(.people))</th>"
            + "<th>\(label(.escalated))</th><th>\(label(.evaluation))</th></tr></thead><tbody>\n"
        for party in summons.parties { html += row(party) }
        html += "</tbody></table>\n"
        if summons.state == "open", mayManage(summons) { html += BoardForms.closeSummons(id: summons.id, language: language) }
        if summons.state != "open", mayManage(summons), summons.parties.contains(where: { $0.score == nil }) {
            html += BoardForms.evaluate(summons: summons, language: language)
        }
        return html + "</article>\n"
    }

    private func row(_ party: SummonedPartyView) -> String {
        let name = "\(party.jurisdiction)/\(party.party)"
        let statusText: String
        switch party.status {
        case "on time": statusText = label(.onTime)
        case "late": statusText = "\(label(.lateBy)) \(HTML.duration(party.lateByMilliseconds))"
        case "missed": statusText = label(.missed)
        default: statusText = label(.waiting)
        }
        let statusClass = party.status.replacingOccurrences(of: " ", with: "-")
        let score = party.score.map { "\($0)/5" + (party.comment.map { " " + HTML.escape($0) } ?? "") } ?? "–"
        return "<tr data-party=\"\(HTML.escape(name))\" data-status=\"\(HTML.escape(party.status))\"><td>\(HTML.party(name, names: names))</td>"
            + "<td class=\"status \(HTML.escape(statusClass))\">\(statusText)</td><td>\(HTML.time(party.deliveredAt))</td>"
            + "<td>\(HTML.time(party.ackedAt))</td><td>\(HTML.time(party.reportedInAt))</td><td>\(HTML.time(party.eta))</td>"
            + "<td>\(party.reportedInAt == nil ? "–" : String(party.people))</td><td>\(HTML.time(party.escalatedAt))</td><td>\(score)</td></tr>\n"
    }

    /// The summoner closes and evaluates its summons; coordinators may too (the workflow decides, and refuses others).
    private func mayManage(_ summons: SummonsView) -> Bool {
        summons.summoner == viewer.identity || viewer.kind == "coordinator"
    }
}
