import MusterWorkflow

/// The board's pages, drawn by the server: a page is whole HTML with the party's name, the
/// tabs, the language switch and (after a form) the broker's answer; scripts and styles come
/// from the broker too (`BoardAssets`), so the board needs nothing from the internet.
struct BoardPages {
    enum Tab: String, CaseIterable {
        case board = "/", handoffs = "/handoffs", assessment = "/assessment", audit = "/audit"

        var label: BoardLabel {
            switch self {
            case .board: .summonsBoard
            case .handoffs: .handoffs
            case .assessment: .assessment
            case .audit: .audit
            }
        }
    }

    /// What a form's post came to: the broker's answer, shown above the page.
    struct Notice {
        let refused: Bool
        let text: String
    }

    let language: BoardLanguage
    let viewer: BoardViewer
    /// Party id → the party's own name.
    var names: [String: String] = [:]

    private func label(_ label: BoardLabel) -> String { HTML.escape(label.text(language)) }

    func page(_ tab: Tab, notice: Notice?, content: String) -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"\(language.htmlTag)\"><head><meta charset=\"utf-8\">"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + "<title>\(label(tab.label)) · \(label(.title))</title><link rel=\"stylesheet\" href=\"/board.css\">"
            + "<script src=\"/board.js\" defer></script></head>\n<body data-tab=\"\(tab)\">\n<header class=\"top\"><h1>\(label(.title))</h1>"
            + "<p class=\"who\">\(label(.signedInAs)): <strong id=\"viewer\">\(HTML.escape(viewer.name))</strong> "
            + "<code>\(HTML.escape(viewer.identity))</code> (\(HTML.escape(viewer.kind)))"
            + " · <a href=\"\(tab.rawValue)?lang=\(language.other.rawValue)\" id=\"language\">\(label(.switchLanguage))</a>"
            + " · <span id=\"live\" data-live=\"\(label(.live))\" data-reconnecting=\"\(label(.reconnecting))\"></span></p>\n<nav>"
        for other in Tab.allCases where other != .audit || viewer.isAuditor {
            html += "<a href=\"\(other.rawValue)?lang=\(language.rawValue)\"\(other == tab ? " class=\"current\"" : "")>\(label(other.label))</a>"
        }
        html += "</nav></header>\n<main>\n"
        if let notice {
            html += "<p id=\"notice\" class=\"notice \(notice.refused ? "refused" : "done")\" role=\"status\"><strong>"
                + "\(label(notice.refused ? .refused : .done))</strong> \(HTML.escape(notice.text))</p>\n"
        }
        return html + content + "</main>\n</body></html>\n"
    }

    func board(_ summonses: [SummonsView], now: Int64, parties: [(identity: String, name: String)]) -> String {
        BoardForms.whistle(language: language, parties: parties) + SummonsBoardHTML(language: language, viewer: viewer, names: names).section(summonses, now: now)
    }

    func handoffs(_ handoffs: [HandoffView], now: Int64, parties: [(identity: String, name: String)]) -> String {
        var html = "<datalist id=\"parties\">" + parties.map { "<option value=\"\(HTML.escape($0.identity))\">\(HTML.escape($0.name))</option>" }.joined()
            + "</datalist>\n" + BoardForms.dispatch(language: language) + "<section id=\"handoffs\">\n<h2>\(label(.handoffs)) (\(handoffs.count))</h2>\n"
        if handoffs.isEmpty { html += "<p class=\"empty\">\(label(.noHandoffs))</p>\n" }
        for handoff in handoffs.reversed() { html += card(handoff) }
        return html + "</section>\n"
    }

    private func card(_ handoff: HandoffView) -> String {
        let id = HTML.escape(handoff.id)
        var html = "<article class=\"handoff\" id=\"handoff-\(id)\" data-state=\"\(HTML.escape(handoff.state))\"><header><h3>\(HTML.escape(handoff.title))</h3>"
            + "<code>\(id)</code></header>\n<dl class=\"facts\"><dt>\(label(.originator))</dt><dd>\(HTML.party(handoff.originator, names: names))</dd>"
            + "<dt>\(label(.assignee))</dt><dd>\(HTML.party(handoff.assignee, names: names))</dd><dt>\(label(.taskType))</dt><dd>\(HTML.escape(handoff.taskType))</dd>"
            + "<dt>\(label(.state))</dt><dd class=\"state\">\(HTML.escape(handoff.state))\(handoff.overdue ? " ⚠" : "")</dd>"
            + "<dt>\(label(.due))</dt><dd>\(HTML.time(handoff.due))</dd><dt>\(label(.reference))</dt><dd>\(HTML.escape(handoff.reference))</dd>"
        if let result = handoff.result { html += "<dt>\(label(.result))</dt><dd>\(HTML.escape(result))</dd>" }
        html += "</dl>\n<ol class=\"timeline\">"
        for entry in handoff.timeline {
            html += "<li>\(HTML.time(entry.time)) <code>\(HTML.escape(entry.party))</code> \(HTML.escape(entry.text))</li>"
        }
        html += "</ol>\n"
        let holder = handoff.assignee == viewer.identity
        switch handoff.state {
        case "dispatched" where holder:
            html += BoardForms.handoffAction("accept", id: handoff.id, language: language) + BoardForms.handoffAction("reject", id: handoff.id, language: language)
        case "accepted" where holder:
            html += BoardForms.handoffAction("complete", id: handoff.id, language: language)
        case "completed" where handoff.originator == viewer.identity, "rated" where handoff.originator == viewer.identity:
            html += BoardForms.handoffAction("rate", id: handoff.id, language: language)
        default: break
        }
        return html + "</article>\n"
    }
}
