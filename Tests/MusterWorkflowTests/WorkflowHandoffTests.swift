import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

@Suite("Workflow: a hand-off (派单 → 接单 → 办结 → 评价)")
struct WorkflowHandoffTests {
    let due = t0 + 24 * hour

    /// h-1: langxia-town dispatches drain clearing to `assignee` at t0, due a day later; the inbox copy is written.
    func dispatched(to assignee: String = "shanta-village-grid") throws -> WorkflowWorld {
        var world = WorkflowWorld()
        try world.send(.handoff, Body.dispatch(to: assignee, due: due), from: langxiaTown, at: t0).get()
        world.drive(to: t0)
        return world
    }

    // MARK: Dispatch

    @Test func aDispatchAssignsTheNextHandoffIdAndStampsTheAssigneeAndDueTime() throws {
        var world = WorkflowWorld()
        let first = try world.send(.handoff, Body.dispatch(to: "shanta-village-grid", due: due), from: langxiaTown, at: t0).get()
        let second = try world.send(.handoff, Body.dispatch(to: "guangchen-town", due: due), from: langxiaTown, at: t0 + minute).get()
        #expect(first.caseID == "h-1")
        #expect(second.caseID == "h-2")
        #expect(first.headers[WorkflowHeader.assignee] == "jinshan/shanta-village-grid")
        #expect(first.headers[WorkflowHeader.deadline] == WorkflowTime.rfc3339(due))
        let handoff = try world.handoff("h-1")
        #expect(handoff.state == "dispatched")
        #expect(handoff.originator == langxiaTown)
        #expect(handoff.assignee == shantaGrid)
        #expect(handoff.due == due)
        #expect(handoff.taskType == "drain-clearing")
        #expect(world.book.handoffOrder == ["h-1", "h-2"])
    }

    @Test func aDispatchToAnUnknownPartyOrDueInThePastIsRefused() throws {
        var world = WorkflowWorld()
        let unknown = try #require(world.send(.handoff, Body.dispatch(to: "nobody", due: due), from: langxiaTown, at: t0).failure)
        #expect(unknown.code == .unknownParty)
        let past = try #require(world.send(.handoff, Body.dispatch(to: "shanta-village-grid", due: t0 - hour), from: langxiaTown, at: t0).failure)
        #expect(past.code == .invalidTransition)
        #expect(world.book.handoffs.isEmpty)
    }

    @Test func theAssigneesInboxCopyIsOwedOnce() throws {
        var world = WorkflowWorld()
        try world.send(.handoff, Body.dispatch(to: "shanta-village-grid", due: due), from: langxiaTown, at: t0).get()
        let owed = world.owed(at: t0)
        #expect(owed.map(\.owedSummary) == ["inbox-copy handoff /queue/inbox.shanta-village-grid shanta-village-grid"])
        #expect(owed.first?.headers[WorkflowHeader.assignee] == "jinshan/shanta-village-grid")
        #expect(owed.first?.body == world.log[0].body)
        world.drive(to: t0)
        #expect(world.owed(at: t0 + hour).isEmpty)
    }

    @Test func aDispatchSentStraightToTheAssigneesInboxIsItsCopy() throws {
        var world = WorkflowWorld()
        try world.send(.handoff, Body.dispatch(to: "shanta-village-grid", due: due), from: langxiaTown, to: inbox(shantaGrid), at: t0).get()
        #expect(world.owed(at: t0).isEmpty)
    }

    // MARK: The table

    @Test func theAssigneeAcceptsWorksAndCompletesAndTheOriginatorRates() throws {
        var world = try dispatched()
        try world.send(.handoff, Body.handoff("accept", "h-1", #""note": "下午安排疏通车""#), from: shantaGrid, at: t0 + hour).get()
        #expect(try world.handoff("h-1").state == "accepted")
        try world.send(.handoff, Body.handoff("progress", "h-1", #""note": "疏通车已到场""#), from: shantaGrid, at: t0 + 2 * hour).get()
        try world.send(.handoff, Body.handoff("progress", "h-1", #""note": "请拍照回复""#), from: langxiaTown, at: t0 + 3 * hour).get()
        #expect(try world.handoff("h-1").state == "accepted", "progress leaves the state as it is")
        try world.send(.handoff, Body.handoff("complete", "h-1", #""result": "涵洞已疏通""#), from: shantaGrid, at: t0 + 4 * hour).get()
        #expect(try world.handoff("h-1").state == "completed")
        #expect(try world.handoff("h-1").result == "涵洞已疏通")
        try world.send(.handoff, Body.handoff("rate", "h-1", #""score": 4, "rater": "originator""#), from: langxiaTown, at: t0 + 5 * hour).get()
        let handoff = try world.handoff("h-1")
        #expect(handoff.state == "rated")
        #expect(handoff.ratings == ["originator": 4])
        #expect(handoff.legs.count == 1)
        #expect(handoff.legs[0].acceptedAt == t0 + hour)
        #expect(handoff.legs[0].completedAt == t0 + 4 * hour)
        #expect(handoff.timeline.map(\.text) == [
            "dispatched drain-clearing to shanta-village-grid, due \(WorkflowTime.rfc3339(due))",
            "accepted: 下午安排疏通车", "progress: 疏通车已到场", "progress: 请拍照回复", "completed: 涵洞已疏通", "rated 4/5 (originator)",
        ])
    }

    @Test func completeBeforeAcceptIsRefusedNamingTheCurrentState() throws {
        var world = try dispatched()
        let refusal = try #require(world.send(.handoff, Body.handoff("complete", "h-1", #""result": "done""#), from: shantaGrid, at: t0 + hour).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("dispatched"))
        #expect(try world.handoff("h-1").state == "dispatched")
    }

    @Test(arguments: [langxiaTown, guangchenTown])
    func onlyTheAssigneeAccepts(_ party: PartyIdentity) throws {
        var world = try dispatched()
        let refusal = try #require(world.send(.handoff, Body.handoff("accept", "h-1"), from: party, at: t0 + hour).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("assignee"))
        #expect(try world.handoff("h-1").state == "dispatched")
    }

    @Test func progressIsForTheAssigneeAndOriginatorOfAnAcceptedHandoff() throws {
        var world = try dispatched()
        let early = try #require(world.send(.handoff, Body.handoff("progress", "h-1", #""note": "x""#), from: shantaGrid, at: t0 + minute).failure)
        #expect(early.code == .invalidTransition)
        try world.send(.handoff, Body.handoff("accept", "h-1"), from: shantaGrid, at: t0 + hour).get()
        let outsider = try #require(world.send(.handoff, Body.handoff("progress", "h-1", #""note": "x""#), from: guangchenTown, at: t0 + 2 * hour).failure)
        #expect(outsider.code == .invalidTransition)
    }

    @Test func aRejectedHandoffWaitsForATransfer() throws {
        var world = try dispatched()
        try world.send(.handoff, Body.handoff("reject", "h-1", #""reason": "涵洞属广陈镇管养""#), from: shantaGrid, at: t0 + hour).get()
        #expect(try world.handoff("h-1").state == "rejected")
        let accept = try #require(world.send(.handoff, Body.handoff("accept", "h-1"), from: shantaGrid, at: t0 + 2 * hour).failure)
        #expect(accept.code == .invalidTransition)
        #expect(accept.message.contains("rejected"))
        #expect(world.owed(at: due + hour).isEmpty, "a rejected hand-off is not escalated")
        #expect(world.book.nextDeadline() == nil)
    }

    @Test func onlyTheOriginatorRatesAndOnlyOnce() throws {
        var world = try dispatched()
        try world.send(.handoff, Body.handoff("accept", "h-1"), from: shantaGrid, at: t0 + hour).get()
        try world.send(.handoff, Body.handoff("complete", "h-1", #""result": "done""#), from: shantaGrid, at: t0 + 2 * hour).get()
        let byAssignee = try #require(world.send(.handoff, Body.handoff("rate", "h-1", #""score": 5, "rater": "originator""#), from: shantaGrid,
                                                 at: t0 + 3 * hour).failure)
        #expect(byAssignee.code == .invalidTransition)
        try world.send(.handoff, Body.handoff("rate", "h-1", #""score": 3, "rater": "originator""#), from: langxiaTown, at: t0 + 3 * hour).get()
        let again = try #require(world.send(.handoff, Body.handoff("rate", "h-1", #""score": 5, "rater": "originator""#), from: langxiaTown,
                                            at: t0 + 4 * hour).failure)
        #expect(again.code == .invalidTransition)
        #expect(again.message.contains("rated"))
        #expect(try world.handoff("h-1").ratings["originator"] == 3)
    }

    @Test func anActionOnAnUnknownHandoffIsRefused() throws {
        var world = try dispatched()
        let refusal = try #require(world.send(.handoff, Body.handoff("accept", "h-7"), from: shantaGrid, at: t0 + hour).failure)
        #expect(refusal.code == .unknownWorkflow)
        #expect(refusal.message.contains("h-7"))
    }

    // MARK: Transfers

    @Test func aTransferMovesTheAssigneeAndOwesTheNewAssigneeACopy() throws {
        var world = try dispatched()
        try world.send(.handoff, Body.handoff("reject", "h-1", #""reason": "不属本网格""#), from: shantaGrid, at: t0 + hour).get()
        let transfer = try world.send(.handoff, Body.handoff("transfer", "h-1", #""to": "guangchen-town", "reason": "按毗邻共治协议转派""#),
                                      from: langxiaTown, at: t0 + 2 * hour).get()
        #expect(transfer.headers[WorkflowHeader.assignee] == "pinghu/guangchen-town")
        let handoff = try world.handoff("h-1")
        #expect(handoff.state == "dispatched")
        #expect(handoff.assignee == guangchenTown)
        #expect(handoff.legs.map(\.assignee) == [shantaGrid, guangchenTown])
        // The originator re-routed a rejected task: the grid rejected it, it did not transfer it.
        #expect(handoff.legs[0].rejectedAt == t0 + hour)
        #expect(handoff.legs[0].transferredAt == nil)
        let owed = world.owed(at: t0 + 2 * hour)
        #expect(owed.map(\.owedSummary) == ["inbox-copy handoff /queue/inbox.guangchen-town guangchen-town"])
        #expect(owed.first?.body == world.log[0].body, "the copy carries the original dispatch")
        world.drive(to: t0 + 2 * hour)
        #expect(world.owed(at: t0 + 3 * hour).isEmpty)

        let oldAssignee = try #require(world.send(.handoff, Body.handoff("accept", "h-1"), from: shantaGrid, at: t0 + 3 * hour).failure)
        #expect(oldAssignee.code == .invalidTransition)
        #expect(oldAssignee.message.contains("guangchen-town"))
        try world.send(.handoff, Body.handoff("accept", "h-1"), from: guangchenTown, at: t0 + 3 * hour).get()
        #expect(try world.handoff("h-1").state == "accepted")
    }

    @Test func theAssigneeMayTransferButNotToItself() throws {
        var world = try dispatched()
        let same = try #require(world.send(.handoff, Body.handoff("transfer", "h-1", #""to": "shanta-village-grid", "reason": "x""#),
                                           from: shantaGrid, at: t0 + hour).failure)
        #expect(same.code == .invalidTransition)
        let unknown = try #require(world.send(.handoff, Body.handoff("transfer", "h-1", #""to": "nobody", "reason": "x""#),
                                              from: shantaGrid, at: t0 + hour).failure)
        #expect(unknown.code == .unknownParty)
        let outsider = try #require(world.send(.handoff, Body.handoff("transfer", "h-1", #""to": "jinshan-public-security", "reason": "x""#),
                                               from: guangchenTown, at: t0 + hour).failure)
        #expect(outsider.code == .invalidTransition)
        try world.send(.handoff, Body.handoff("transfer", "h-1", #""to": "jinshan-public-security", "reason": "治安案件""#),
                       from: shantaGrid, at: t0 + hour).get()
        #expect(try world.handoff("h-1").assignee == jinshanPolice)
    }

    // MARK: Overdue

    @Test func anOverdueHandoffIsEscalatedOnceToTheOriginatorAndTheAssigneesSupervisor() throws {
        var world = try dispatched(to: "jinshan-public-security")
        try world.send(.handoff, Body.handoff("accept", "h-1"), from: jinshanPolice, at: t0 + hour).get()
        #expect(world.book.nextDeadline() == due)
        #expect(world.owed(at: due - 1).isEmpty)
        let owed = world.owed(at: due)
        #expect(owed.map(\.owedSummary) == [
            "escalation escalation /topic/escalation jinshan-public-security",
            "inbox-copy escalation /queue/inbox.langxia-town jinshan-public-security",
            "inbox-copy escalation /queue/inbox.joint-command jinshan-public-security",
        ], "accepted but not completed is overdue too")
        let record = try #require(owed.first?.json)
        #expect(record["handoffId"] == .string("h-1"))
        #expect(record["summonsId"] == nil)
        #expect(record["missingParty"] == .string("jinshan-public-security"))
        #expect(record["deadline"] == .string(WorkflowTime.rfc3339(due)))
        #expect(record["notify"] == .array([.string("langxia-town"), .string("joint-command")]))
        world.drive(to: due)
        #expect(world.owed(at: due + 6 * hour).isEmpty)
        #expect(try world.handoff("h-1").legs[0].escalatedAt == due)
        #expect(world.book.nextDeadline() == nil)
    }

    @Test func eachAssigneeOfAnOverdueHandoffIsEscalatedOnce() throws {
        var world = try dispatched()
        world.drive(to: due + minute)
        try world.send(.handoff, Body.handoff("transfer", "h-1", #""to": "guangchen-town", "reason": "转派""#), from: langxiaTown,
                       at: due + hour).get()
        let written = world.drive(to: due + hour)
        #expect(written.filter { $0.workflowEvent == "escalation" }.map(\.owedSummary) == [
            "escalation escalation /topic/escalation guangchen-town",
        ], "the new assignee has the same overdue task")
        #expect(world.owed(at: due + 2 * hour).isEmpty)
        let legs = try world.handoff("h-1").legs
        #expect(legs.map(\.escalatedAt) == [due + minute, due + hour])
    }

    @Test func aCompletedHandoffIsNotEscalated() throws {
        var world = try dispatched()
        try world.send(.handoff, Body.handoff("accept", "h-1"), from: shantaGrid, at: t0 + hour).get()
        try world.send(.handoff, Body.handoff("complete", "h-1", #""result": "done""#), from: shantaGrid, at: t0 + 2 * hour).get()
        #expect(world.owed(at: due + hour).isEmpty)
        #expect(world.book.nextDeadline() == nil)
    }

    // MARK: The schema's own example

    /// Schemas/handoff.schema.json walks h-2207 through reject, transfer, accept, progress,
    /// complete, then a citizen's rating (relayed by the originator) and the originator's own:
    /// "a rating of the completed task by the originator, or by the citizen".
    @Test func theSchemaExamplesTicketIsTakenStepByStep() throws {
        var world = try dispatched()
        let steps: [(PartyIdentity, String)] = [
            (shantaGrid, Body.handoff("reject", "h-1", #""reason": "堵塞点属广陈镇管养范围""#)),
            (langxiaTown, Body.handoff("transfer", "h-1", #""to": "guangchen-town", "reason": "按毗邻共治协议转派""#)),
            (guangchenTown, Body.handoff("accept", "h-1", #""note": "广陈镇城建办接单""#)),
            (guangchenTown, Body.handoff("progress", "h-1", #""note": "疏通车已到场""#)),
            (guangchenTown, Body.handoff("complete", "h-1", #""result": "涵洞已疏通""#)),
            (langxiaTown, Body.handoff("rate", "h-1", #""score": 5, "rater": "citizen", "comment": "当天就通了，满意。""#)),
            (langxiaTown, Body.handoff("rate", "h-1", #""score": 4, "rater": "originator", "comment": "after one transfer""#)),
        ]
        for (index, (sender, body)) in steps.enumerated() {
            let result = world.send(.handoff, body, from: sender, at: t0 + Int64(index + 1) * hour)
            #expect(result.failure == nil, "step \(index + 1): \(body)")
        }
    }
}
