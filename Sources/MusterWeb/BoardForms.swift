import Foundation
import MusterProtocol
import MusterWorkflow

/// The board's forms: how each is drawn, and how a posted one becomes the workflow message a
/// STOMP client would send (the same fields `muster summon`, `muster summons close`,
/// `muster evaluate` and `muster handoff` send). Whether it is allowed is for the broker to say.
enum BoardForms {
    /// The paths forms post to.
    static let summonPath = "/summon"
    static let closePath = "/summons/close"
    static let evaluatePath = "/summons/evaluate"
    static let dispatchPath = "/handoff/dispatch"
    static let handoffActionPath = "/handoff/act"
    static let paths: Set<String> = [summonPath, closePath, evaluatePath, dispatchPath, handoffActionPath]

    /// The workflow message a posted form asks for, or why the form cannot be sent (400).
    static func submission(path: String, fields: FormFields) -> Result<WorkflowSubmission, BoardRefusal> {
        // The token is a publish id: the same bounds as a STOMP client's.
        if let token = fields["form-token"], token.utf8.count > 256 {
            return .failure(invalid("the form's token has \(token.utf8.count) bytes; a publish id has at most 256"))
        }
        return submissionWithoutToken(path: path, fields: fields).map { message in
            WorkflowSubmission(type: message.type, destination: message.destination, body: message.body, publishID: fields["form-token"])
        }
    }

    private static func submissionWithoutToken(path: String, fields: FormFields) -> Result<WorkflowSubmission, BoardRefusal> {
        do {
            switch path {
            case summonPath: return .success(try summons(fields))
            case closePath:
                return .success(try message(.summons, "/topic/summons", [
                    "action": "close", "summonsId": try required(fields, "id"), "resolution": fields["resolution"] ?? "closed from the board",
                ]))
            case evaluatePath:
                guard let score = fields["score"].flatMap(Int.init), (1...5).contains(score) else { throw invalid("score must be 1 to 5") }
                var body: [String: Any] = ["summonsId": try required(fields, "id"), "party": try required(fields, "party"), "score": score]
                if let comment = fields["comment"] { body["comment"] = comment }
                return .success(try message(.evaluation, "/topic/evaluation", body))
            case dispatchPath: return .success(try dispatch(fields))
            case handoffActionPath: return .success(try handoffAction(fields))
            default: throw BoardRefusal(code: "not-found", message: "no form posts to \(path)")
            }
        } catch let refusal as BoardRefusal {
            return .failure(refusal)
        } catch {
            return .failure(invalid("\(error)"))
        }
    }

    private static func summons(_ fields: FormFields) throws -> WorkflowSubmission {
        let selectors = try required(fields, "to").split(whereSeparator: { $0 == "," || $0 == "，" || $0 == " " })
        let summoned: [Any] = selectors.map { item -> Any in
            let parts = item.split(separator: "@")
            return parts.count == 2 ? ["kind": String(parts[0]), "jurisdiction": String(parts[1])] : String(item)
        }
        let title = try required(fields, "title")
        let body: [String: Any] = [
            "action": "open", "title": title, "description": fields["description"] ?? title,
            "location": ["name": fields["location"] ?? "on site"], "summoned": summoned,
            "severity": fields["severity"] ?? "high", "deadline": try deadline(fields["deadline"] ?? "30m", field: "deadline"),
        ]
        return try message(.summons, "/topic/summons", body)
    }

    private static func dispatch(_ fields: FormFields) throws -> WorkflowSubmission {
        let title = try required(fields, "title")
        let dueText = try required(fields, "due")
        let due: String
        if WorkflowTime.milliseconds(rfc3339: dueText) != nil {
            due = dueText
        } else {
            due = try deadline(dueText, field: "due")
        }
        return try message(.handoff, "/topic/handoff", [
            "action": "dispatch", "assignee": try required(fields, "to"), "taskType": try required(fields, "task"), "title": title,
            "description": fields["description"] ?? title, "due": due, "reference": try required(fields, "reference"),
        ])
    }

    private static func handoffAction(_ fields: FormFields) throws -> WorkflowSubmission {
        let action = try required(fields, "action")
        var body: [String: Any] = ["action": action, "handoffId": try required(fields, "id")]
        switch action {
        case "accept", "progress":
            if let note = fields["note"] { body["note"] = note }
        case "reject": body["reason"] = try required(fields, "reason")
        case "complete": body["result"] = try required(fields, "result")
        case "rate":
            guard let score = fields["score"].flatMap(Int.init), (1...5).contains(score) else { throw invalid("score must be 1 to 5") }
            body["score"] = score
            body["rater"] = fields["rater"] ?? "originator"
            if let comment = fields["comment"] { body["comment"] = comment }
        default: throw invalid("the hand-off action '\(action)' is not one of accept, reject, progress, complete, rate")
        }
        return try message(.handoff, "/topic/handoff", body)
    }

    /// A duration (30m, 1h, PT45M) as ISO 8601, or an RFC 3339 time as given.
    private static func deadline(_ text: String, field: String) throws -> String {
        if WorkflowTime.milliseconds(rfc3339: text) != nil { return text }
        guard let milliseconds = DurationText.milliseconds(text), let iso = DurationText.iso8601(milliseconds: milliseconds) else {
            throw invalid("\(field) '\(text)' is not a duration such as \(DurationText.examples) nor an RFC 3339 time")
        }
        return iso
    }

    private static func required(_ fields: FormFields, _ name: String) throws -> String {
        guard let value = fields[name] else { throw invalid("the form's \(name) field is empty") }
        return value
    }

    private static func invalid(_ message: String) -> BoardRefusal {
        BoardRefusal(code: ErrorCode.invalidHeader.rawValue, message: message)
    }

    private static func message(_ type: WorkflowType, _ destination: String, _ body: [String: Any]) throws -> WorkflowSubmission {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return WorkflowSubmission(type: type.rawValue, destination: destination, body: Array(data))
    }
}

/// How the forms are drawn. Each posts to its path; the page that answers shows the broker's
/// answer (the case id, or the refusal's reason) above the board.
extension BoardForms {
    private static func label(_ label: BoardLabel, _ language: BoardLanguage) -> String { HTML.escape(label.text(language)) }

    private static func field(_ name: String, _ text: BoardLabel, _ language: BoardLanguage, value: String = "", hint: String? = nil,
                              list: String? = nil, required: Bool = true) -> String {
        "<label>\(label(text, language)) <input name=\"\(name)\" value=\"\(HTML.escape(value))\""
            + (hint.map { " placeholder=\"\(HTML.escape($0))\"" } ?? "") + (list.map { " list=\"\($0)\"" } ?? "")
            + (required ? " required" : "") + "></label>\n"
    }

    /// Each form gets a token of its own when it is sent (the board's script draws it; see
    /// `WorkflowSubmission.publishID`): drawn empty, so that the live board does not change with it.
    private static func form(_ path: String, _ id: String, _ language: BoardLanguage, _ inner: String, submit: BoardLabel) -> String {
        "<form method=\"post\" action=\"\(path)?lang=\(language.rawValue)\" id=\"\(id)\" class=\"action\">\n"
            + "<input type=\"hidden\" name=\"form-token\" value=\"\" autocomplete=\"off\">\(inner)"
            + "<button type=\"submit\">\(label(submit, language))</button></form>\n"
    }

    /// The whistle: whom to summon, the incident, where, by when, how severe.
    static func whistle(language: BoardLanguage, parties: [(identity: String, name: String)]) -> String {
        var options = "<datalist id=\"parties\">"
        for party in parties { options += "<option value=\"\(HTML.escape(party.identity))\">\(HTML.escape(party.name))</option>" }
        options += "</datalist>\n"
        let severities = [BoardLabel.critical, .high, .medium, .low]
            .map { "<option value=\"\($0.rawValue)\"\($0 == .high ? " selected" : "")>\(label($0, language))</option>" }.joined()
        let inner = options + field("to", .summonParties, language, hint: BoardLabel.summonPartiesHint.text(language), list: "parties")
            + field("title", .incident, language) + field("description", .details, language, required: false)
            + field("location", .location, language, required: false)
            + field("deadline", .deadline, language, value: "30m", hint: BoardLabel.deadlineHint.text(language))
            + "<label>\(label(.severity, language)) <select name=\"severity\">\(severities)</select></label>\n"
        return "<section class=\"panel\"><h2>\(label(.blowWhistle, language))</h2>\n" + form(summonPath, "whistle", language, inner, submit: .send) + "</section>\n"
    }

    static func closeSummons(id: String, language: BoardLanguage) -> String {
        form(closePath, "close-\(HTML.escape(id))", language,
             "<input type=\"hidden\" name=\"id\" value=\"\(HTML.escape(id))\">" + field("resolution", .resolution, language, required: false),
             submit: .closeSummons)
    }

    static func evaluate(summons: SummonsView, language: BoardLanguage) -> String {
        let options = summons.parties.filter { $0.score == nil }
            .map { "<option value=\"\(HTML.escape($0.party))\">\(HTML.escape("\($0.jurisdiction)/\($0.party)"))</option>" }.joined()
        let scores = (1...5).reversed().map { "<option>\($0)</option>" }.joined()
        return form(evaluatePath, "evaluate-\(HTML.escape(summons.id))", language,
                    "<input type=\"hidden\" name=\"id\" value=\"\(HTML.escape(summons.id))\">"
                        + "<label>\(label(.party, language)) <select name=\"party\">\(options)</select></label>"
                        + "<label>\(label(.score, language)) <select name=\"score\">\(scores)</select></label>"
                        + field("comment", .comment, language, required: false),
                    submit: .evaluate)
    }

    static func dispatch(language: BoardLanguage) -> String {
        let inner = field("to", .assignee, language, list: "parties") + field("task", .taskType, language) + field("title", .incident, language)
            + field("description", .details, language, required: false) + field("due", .due, language, value: "1d", hint: "2h, 3d")
            + field("reference", .reference, language)
        return "<section class=\"panel\"><h2>\(label(.dispatchHandoff, language))</h2>\n" + form(dispatchPath, "dispatch", language, inner, submit: .dispatch) + "</section>\n"
    }

    /// One hand-off action (accept, reject, complete, rate) with the fields it needs.
    static func handoffAction(_ action: String, id: String, language: BoardLanguage) -> String {
        let hidden = "<input type=\"hidden\" name=\"id\" value=\"\(HTML.escape(id))\"><input type=\"hidden\" name=\"action\" value=\"\(action)\">"
        switch action {
        case "accept": return form(handoffActionPath, "accept-\(HTML.escape(id))", language, hidden, submit: .accept)
        case "reject": return form(handoffActionPath, "reject-\(HTML.escape(id))", language, hidden + field("reason", .reason, language), submit: .reject)
        case "complete": return form(handoffActionPath, "complete-\(HTML.escape(id))", language, hidden + field("result", .result, language), submit: .complete)
        default:
            let scores = (1...5).reversed().map { "<option>\($0)</option>" }.joined()
            return form(handoffActionPath, "rate-\(HTML.escape(id))", language,
                        hidden + "<label>\(label(.score, language)) <select name=\"score\">\(scores)</select></label>"
                            + "<select name=\"rater\"><option>originator</option><option>citizen</option></select>",
                        submit: .rate)
        }
    }
}
