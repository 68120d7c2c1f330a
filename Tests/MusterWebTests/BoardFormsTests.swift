import Foundation
@testable import MusterWeb
import Testing

/// A posted form becomes the workflow message the CLI would send; a form that cannot be one is refused with why.
@Suite("the board's forms")
struct BoardFormsTests {
    static func submit(_ path: String, _ form: String) -> Result<WorkflowSubmission, BoardRefusal> {
        BoardForms.submission(path: path, fields: FormFields.parse(form)!)
    }

    static func body(_ result: Result<WorkflowSubmission, BoardRefusal>) throws -> [String: Any] {
        let submission = try result.get()
        return try #require(try JSONSerialization.jsonObject(with: Data(submission.body)) as? [String: Any])
    }

    @Test func theWhistleIsASummonsOpenWithPartiesSelectorsAndAnISODeadline() throws {
        let result = Self.submit(BoardForms.summonPath, "to=jinshan-public-security%2C+department%40pinghu&title=Fallen+tree&deadline=45m&severity=critical&location=levee")
        #expect(try result.get().type == "summons" && result.get().destination == "/topic/summons")
        let body = try Self.body(result)
        #expect(body["action"] as? String == "open" && body["title"] as? String == "Fallen tree" && body["description"] as? String == "Fallen tree")
        #expect(body["deadline"] as? String == "PT45M" && body["severity"] as? String == "critical")
        #expect((body["location"] as? [String: String])?["name"] == "levee")
        let summoned = try #require(body["summoned"] as? [Any])
        #expect(summoned.first as? String == "jinshan-public-security")
        #expect((summoned.last as? [String: String]) == ["kind": "department", "jurisdiction": "pinghu"])
    }

    @Test func aFormMissingAFieldOrWithABadDeadlineOrScoreIsRefusedWithWhy() {
        guard case .failure(let missing) = Self.submit(BoardForms.summonPath, "title=x") else { Issue.record("no parties accepted"); return }
        #expect(missing.message.contains("to"))
        guard case .failure(let deadline) = Self.submit(BoardForms.summonPath, "to=a&title=x&deadline=soon") else { Issue.record("'soon' accepted"); return }
        #expect(deadline.message.contains("soon") && deadline.message.contains("deadline"))
        guard case .failure(let score) = Self.submit(BoardForms.evaluatePath, "id=s-1&party=a&score=6") else { Issue.record("score 6 accepted"); return }
        #expect(score.message.contains("1 to 5"))
        guard case .failure(let action) = Self.submit(BoardForms.handoffActionPath, "id=h-1&action=delete") else { Issue.record("an unknown action accepted"); return }
        #expect(action.message.contains("delete"))
    }

    @Test func closeEvaluateDispatchAndHandOffActionsCarryWhatTheCommandsSend() throws {
        let close = try Self.body(Self.submit(BoardForms.closePath, "id=s-3&resolution=tree+removed"))
        #expect(close["action"] as? String == "close" && close["summonsId"] as? String == "s-3" && close["resolution"] as? String == "tree removed")
        let evaluation = Self.submit(BoardForms.evaluatePath, "id=s-3&party=guangchen-town&score=4&comment=quick")
        #expect(try evaluation.get().type == "evaluation")
        let scored = try Self.body(evaluation)
        #expect(scored["summonsId"] as? String == "s-3" && scored["party"] as? String == "guangchen-town" && scored["score"] as? Int == 4)
        let dispatch = try Self.body(Self.submit(BoardForms.dispatchPath, "to=shanta-village-grid&task=road-repair&title=Pothole&due=2h&reference=12345"))
        #expect(dispatch["action"] as? String == "dispatch" && dispatch["assignee"] as? String == "shanta-village-grid")
        #expect(dispatch["taskType"] as? String == "road-repair" && dispatch["due"] as? String == "PT2H" && dispatch["reference"] as? String == "12345")
        let reject = try Self.body(Self.submit(BoardForms.handoffActionPath, "id=h-1&action=reject&reason=not+ours"))
        #expect(reject["handoffId"] as? String == "h-1" && reject["reason"] as? String == "not ours")
        let rate = try Self.body(Self.submit(BoardForms.handoffActionPath, "id=h-1&action=rate&score=5&rater=citizen"))
        #expect(rate["score"] as? Int == 5 && rate["rater"] as? String == "citizen")
    }
}

extension BoardFormsTests {
    @Test func aFormsTokenIsItsPublishIDWithinTheSameBoundsAsAClients() throws {
        let sent = try Self.submit(BoardForms.closePath, "form-token=board-abc&id=s-1").get()
        #expect(sent.publishID == "board-abc")
        #expect(try Self.submit(BoardForms.closePath, "id=s-1").get().publishID == nil, "a form sent without the script has no token")
        guard case .failure(let refusal) = Self.submit(BoardForms.closePath, "form-token=\(String(repeating: "x", count: 257))&id=s-1") else {
            Issue.record("a 257-byte token was accepted")
            return
        }
        #expect(refusal.message.contains("256"))
    }
}
