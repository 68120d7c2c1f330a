import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

@Suite("Workflow: a summons' reminders and escalations")
struct WorkflowSummonsTimerTests {
    /// s-1 from langxia-town at t0, due at t0+30m, reminders 10 and 5 minutes before; the
    /// inbox copies are written; the police reported in at t0+5m.
    func whistleWithReminders() throws -> WorkflowWorld {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["jinshan-public-security", "guangchen-town", "langxia-agri-coop"], reminders: ["PT10M", "PT5M"])
        world.drive(to: t0)
        try world.send(.reportIn, Body.reportIn("s-1"), from: jinshanPolice, at: t0 + 5 * minute).get()
        return world
    }

    // MARK: Reminders

    @Test func tenMinutesBeforeTheDeadlineEachMissingPartyIsReminded() throws {
        var world = try whistleWithReminders()
        #expect(world.owed(at: t0 + 20 * minute - 1).isEmpty, "nothing before the reminder is due")
        let owed = world.owed(at: t0 + 20 * minute)
        #expect(owed.map(\.owedSummary) == [
            "reminder summons /queue/inbox.guangchen-town guangchen-town",
            "reminder summons /queue/inbox.langxia-agri-coop langxia-agri-coop",
        ], "not the police: they reported in")
        #expect(owed.allSatisfy { $0.headers[WorkflowHeader.reminder] == String(10 * minute) })
        #expect(owed.allSatisfy { $0.headers[WorkflowHeader.deadline] == "2025-06-12T02:10:00.000Z" })
        world.drive(to: t0 + 20 * minute)
        #expect(world.owed(at: t0 + 24 * minute).isEmpty, "a reminder is sent once")
        #expect(try world.summons("s-1").party(guangchenTown).lastReminder == 10 * minute)
        #expect(try world.summons("s-1").timeline.last?.text == "reminded: 10m before the deadline")
    }

    @Test func fiveMinutesBeforeComesTheSecondReminder() throws {
        var world = try whistleWithReminders()
        world.drive(to: t0 + 20 * minute)
        let owed = world.owed(at: t0 + 25 * minute)
        #expect(owed.map(\.owedSummary) == [
            "reminder summons /queue/inbox.guangchen-town guangchen-town",
            "reminder summons /queue/inbox.langxia-agri-coop langxia-agri-coop",
        ])
        #expect(owed.allSatisfy { $0.headers[WorkflowHeader.reminder] == String(5 * minute) })
        world.drive(to: t0 + 25 * minute)
        #expect(world.owed(at: t0 + 29 * minute).isEmpty)
    }

    @Test func aBrokerDownThroughBothReminderPointsOwesOnlyTheLaterOne() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["guangchen-town"], reminders: ["PT10M", "PT5M"])
        let owed = world.owed(at: t0 + 27 * minute)
        #expect(owed.map(\.owedSummary) == [
            "inbox-copy summons /queue/inbox.guangchen-town guangchen-town",
            "reminder summons /queue/inbox.guangchen-town guangchen-town",
        ])
        #expect(owed.last?.headers[WorkflowHeader.reminder] == String(5 * minute))
        world.drive(to: t0 + 27 * minute)
        #expect(world.owed(at: t0 + 29 * minute).isEmpty, "the 10-minute reminder is not owed after the 5-minute one")
    }

    @Test func aPartyThatReportedInIsNeitherRemindedNorEscalated() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["guangchen-town"], reminders: ["PT10M"])
        world.drive(to: t0)
        try world.send(.reportIn, Body.reportIn("s-1"), from: guangchenTown, at: t0 + minute).get()
        #expect(world.owed(at: t0 + 20 * minute).isEmpty)
        #expect(world.owed(at: t0 + 2 * hour).isEmpty)
        #expect(world.book.nextDeadline() == nil)
    }

    // MARK: Escalations

    @Test func atTheDeadlineEachMissingPartyIsEscalatedToTheSummonerAndItsSupervisor() throws {
        var world = try whistleWithReminders()
        world.drive(to: t0 + 25 * minute)
        let owed = world.owed(at: t0 + 30 * minute)
        #expect(owed.map(\.owedSummary) == [
            "escalation escalation /topic/escalation guangchen-town",
            "inbox-copy escalation /queue/inbox.langxia-town guangchen-town",
            "escalation escalation /topic/escalation langxia-agri-coop",
            "inbox-copy escalation /queue/inbox.langxia-town langxia-agri-coop",
            "inbox-copy escalation /queue/inbox.joint-command langxia-agri-coop",
        ], "guangchen-town has no supervisor; the coop's is joint-command")
        let record = try #require(owed[2].json)
        #expect(record["summonsId"] == .string("s-1"))
        #expect(record["missingParty"] == .string("langxia-agri-coop"))
        #expect(record["deadline"] == .string("2025-06-12T02:10:00.000Z"))
        #expect(record["escalatedAt"] == .string("2025-06-12T02:10:00.000Z"))
        #expect(record["notify"] == .array([.string("langxia-town"), .string("joint-command")]))
        #expect(record["handoffId"] == nil)
        #expect(owed[3].body == owed[2].body && owed[4].body == owed[2].body, "the inbox copies carry the record")
    }

    @Test func aSupervisorWhoIsTheSummonerIsNotifiedOnce() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["shanta-village-grid"])
        let owed = world.owed(at: t0 + 30 * minute).filter { $0.headers[ReservedHeader.type] == "escalation" }
        #expect(owed.map(\.owedSummary) == [
            "escalation escalation /topic/escalation shanta-village-grid",
            "inbox-copy escalation /queue/inbox.langxia-town shanta-village-grid",
        ])
        #expect(owed.first?.json?["notify"] == .array([.string("langxia-town")]))
    }

    @Test func aPartyIsEscalatedExactlyOnce() throws {
        var world = try whistleWithReminders()
        let written = world.drive(to: t0 + 30 * minute)
        #expect(written.filter { $0.workflowEvent == "escalation" }.count == 2)
        #expect(world.owed(at: t0 + 30 * minute).isEmpty)
        #expect(world.owed(at: t0 + 5 * hour).isEmpty)
        let coop = try world.summons("s-1").party(agriCoop)
        #expect(coop.escalatedAt == t0 + 30 * minute)
        #expect(try world.summons("s-1").timeline.last?.text == "escalated: not reported in by the deadline")
    }

    @Test func aDeadlinePassedWhileTheBrokerWasDownIsEscalatedNamingTheDeadlineItself() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["langxia-agri-coop"], reminders: ["PT10M", "PT5M"])
        let late = t0 + 3 * hour + 17 * minute
        let owed = world.owed(at: late)
        #expect(owed.map(\.workflowEvent) == ["inbox-copy", "escalation", "inbox-copy", "inbox-copy"], "no reminders after the deadline")
        let record = try #require(owed.first { $0.workflowEvent == "escalation" }?.json)
        #expect(record["deadline"] == .string("2025-06-12T02:10:00.000Z"))
        #expect(record["escalatedAt"] == .string(WorkflowTime.rfc3339(late)))
        world.drive(to: late)
        #expect(world.owed(at: late + hour).isEmpty)
    }

    @Test func aLateReportInAfterTheEscalationIsTakenAndCountedLate() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["langxia-agri-coop"])
        world.drive(to: t0 + 31 * minute)
        try world.send(.reportIn, Body.reportIn("s-1", eta: "PT0S"), from: agriCoop, at: t0 + 45 * minute).get()
        let summons = try world.summons("s-1")
        #expect(try summons.party(agriCoop).lateBy(deadline: summons.deadline) == 15 * minute)
        #expect(try summons.party(agriCoop).escalatedAt == t0 + 31 * minute)
    }

    @Test func nothingIsRemindedOrEscalatedAfterTheSummonsIsClosed() throws {
        var world = try whistleWithReminders()
        try world.send(.summons, Body.closeSummons("s-1"), from: langxiaTown, at: t0 + 15 * minute).get()
        #expect(world.owed(at: t0 + 20 * minute).isEmpty)
        #expect(world.owed(at: t0 + 30 * minute).isEmpty)
        #expect(world.owed(at: t0 + 10 * hour).isEmpty)
        #expect(world.book.nextDeadline() == nil)
    }

    @Test func anEscalationIsNotAClientMessage() throws {
        let world = WorkflowWorld()
        let body = #"{"summonsId": "s-1", "missingParty": "guangchen-town", "deadline": "2025-06-12T10:10:00+08:00", "#
            + #""escalatedAt": "2025-06-12T10:10:00+08:00", "notify": ["langxia-town"], "reason": "forged"}"#
        let refusal = try #require(world.stamp(.escalation, body, from: langxiaTown, at: t0).failure)
        #expect(refusal.code == .notAuthorized)
    }

    // MARK: When the timer thread wakes

    @Test func theNextDeadlineIsTheNearestReminderOrDeadlineStillOwed() throws {
        var world = WorkflowWorld()
        #expect(world.book.nextDeadline() == nil)
        _ = try world.blowWhistle(["jinshan-public-security", "guangchen-town"], reminders: ["PT10M", "PT5M"])
        #expect(world.book.nextDeadline() == t0 + 20 * minute)
        world.drive(to: t0 + 20 * minute)
        #expect(world.book.nextDeadline() == t0 + 25 * minute)
        world.drive(to: t0 + 25 * minute)
        #expect(world.book.nextDeadline() == t0 + 30 * minute)
        try world.send(.reportIn, Body.reportIn("s-1"), from: jinshanPolice, at: t0 + 26 * minute).get()
        #expect(world.book.nextDeadline() == t0 + 30 * minute, "guangchen-town still owes its report-in")
        world.drive(to: t0 + 30 * minute)
        #expect(world.book.nextDeadline() == nil, "escalated: nothing more is owed")
    }

    @Test func theNextDeadlineIsTheEarliestOverSeveralSummonses() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["guangchen-town"], deadline: "PT1H")
        _ = try world.blowWhistle(["jinshan-public-security"], deadline: "PT20M", at: t0 + 5 * minute)
        #expect(world.book.nextDeadline() == t0 + 25 * minute)
        try world.send(.reportIn, Body.reportIn("s-2"), from: jinshanPolice, at: t0 + 6 * minute).get()
        #expect(world.book.nextDeadline() == t0 + hour)
    }
}
