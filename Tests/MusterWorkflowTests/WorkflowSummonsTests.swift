import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

@Suite("Workflow: a summons (吹哨报到)")
struct WorkflowSummonsTests {
    // MARK: Opening

    @Test func openingAssignsTheNextSummonsIdInOrder() throws {
        var world = WorkflowWorld()
        #expect(try world.blowWhistle(["jinshan-public-security"]) == "s-1")
        #expect(try world.blowWhistle(["guangchen-town"], at: t0 + minute) == "s-2")
        #expect(world.book.summonsOrder == ["s-1", "s-2"])
        let second = try world.summons("s-2")
        #expect(second.summoner == langxiaTown)
        #expect(second.openedAt == t0 + minute)
        #expect(second.state == "open")
    }

    @Test func stampingAloneDoesNotTakeAnId() throws {
        let world = WorkflowWorld()
        let first = try world.stamp(.summons, Body.openSummons(["guangchen-town"]), from: langxiaTown, at: t0).get()
        let again = try world.stamp(.summons, Body.openSummons(["guangchen-town"]), from: langxiaTown, at: t0).get()
        #expect(first.headers[WorkflowHeader.id] == "s-1")
        #expect(again.headers[WorkflowHeader.id] == "s-1", "only a handled open takes the id")
        #expect(first.headers[WorkflowHeader.time] == String(t0))
        #expect(world.book.summonses.isEmpty)
    }

    @Test func namesAndSelectorsResolveToPartiesInTheStampedHeader() throws {
        var world = WorkflowWorld()
        let message = try world.send(.summons, Body.openSummons(["langxia-agri-coop", .every(.department, in: "pinghu"), .every(.department, in: "jinshan")]),
                                     from: langxiaTown, at: t0).get()
        #expect(message.headers[WorkflowHeader.summoned] == "jinshan/langxia-agri-coop,pinghu/pinghu-public-security,jinshan/jinshan-public-security")
        #expect(try world.summons("s-1").parties.map(\.identity) == [agriCoop, pinghuPolice, jinshanPolice])
    }

    @Test func aSelectorLeavesOutTheSummonerAndAPartyNamedTwiceIsSummonedOnce() throws {
        var world = WorkflowWorld()
        let xindai = PartyIdentity(jurisdiction: "pinghu", party: "xindai-town")
        world.directory = WorkflowDirectory(parties: workflowDirectory.parties.merging(
            [xindai: RegisteredParty(identity: xindai, name: "新埭镇", kind: .township)]) { first, _ in first })
        let id = try world.blowWhistle([.every(.township, in: "pinghu"), "xindai-town"], from: guangchenTown)
        #expect(try world.summons(id).parties.map(\.identity) == [xindai])
        let other = try world.blowWhistle([.every(.township, in: "pinghu"), "guangchen-town"], from: langxiaTown, at: t0 + minute)
        #expect(try world.summons(other).parties.map(\.identity) == [guangchenTown, xindai])
    }

    @Test func aSelectorThatMatchesNobodyButTheSummonerIsRefused() throws {
        var world = WorkflowWorld()
        let refusal = try #require(world.send(.summons, Body.openSummons([.every(.township, in: "pinghu")]), from: guangchenTown, at: t0).failure)
        #expect(refusal.code == .unknownParty)
        #expect(refusal.message.contains("township"))
        #expect(world.book.summonses.isEmpty)
    }

    @Test func anUnknownPartyIsRefusedAndNothingOpens() throws {
        var world = WorkflowWorld()
        let refusal = try #require(world.send(.summons, Body.openSummons(["guangchen-town", "nobody-here"]), from: langxiaTown, at: t0).failure)
        #expect(refusal.code == .unknownParty)
        #expect(refusal.message.contains("nobody-here"))
        #expect(world.book.summonses.isEmpty)
        #expect(try world.blowWhistle(["guangchen-town"]) == "s-1", "a refused open takes no id")
    }

    @Test func aSummonerCannotSummonItself() throws {
        var world = WorkflowWorld()
        let refusal = try #require(world.send(.summons, Body.openSummons(["langxia-town"]), from: langxiaTown, at: t0).failure)
        #expect(refusal.code == .invalidTransition)
    }

    @Test func onlyTownshipsStreetOfficesAndCoordinatorsBlowTheWhistle() throws {
        var world = WorkflowWorld()
        let refusal = try #require(world.send(.summons, Body.openSummons(["guangchen-town"]), from: jinshanPolice, at: t0).failure)
        #expect(refusal.code == .notAuthorized)
        #expect(refusal.message.contains("department"))
        #expect(world.book.summonses.isEmpty)
    }

    @Test func theDeadlineIsThirtyMinutesWhenNoneIsGiven() throws {
        var world = WorkflowWorld()
        let message = try world.send(.summons, Body.openSummons(["guangchen-town"]), from: langxiaTown, at: t0).get()
        #expect(message.headers[WorkflowHeader.deadline] == "2025-06-12T02:10:00.000Z")
        #expect(try world.summons("s-1").deadline == t0 + 30 * minute)
    }

    @Test func anAbsoluteDeadlineWithAnOffsetIsKept() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["guangchen-town"], deadline: "2025-06-12T10:10:00+08:00")
        #expect(try world.summons(id).deadline == t0 + 30 * minute)
    }

    @Test(arguments: ["2025-06-12T09:00:00+08:00", "2025-06-12T09:40:00+08:00", "PT0S"])
    func aDeadlineThatIsNotInTheFutureIsRefused(deadline: String) throws {
        var world = WorkflowWorld()
        let refusal = try #require(world.send(.summons, Body.openSummons(["guangchen-town"], deadline: deadline), from: langxiaTown, at: t0).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains(deadline))
        #expect(world.book.summonses.isEmpty)
    }

    @Test func aReminderEarlierThanTheSummonsItselfIsRefused() throws {
        let world = WorkflowWorld()
        let refusal = try #require(world.stamp(.summons, Body.openSummons(["guangchen-town"], reminders: ["PT30M"]), from: langxiaTown, at: t0).failure)
        #expect(refusal.code == .invalidTransition)
    }

    // MARK: Inbox copies

    @Test func anInboxCopyIsOwedOncePerSummonedParty() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["jinshan-public-security", "guangchen-town"])
        let owed = world.owed(at: t0)
        #expect(owed.map(\.owedSummary) == [
            "inbox-copy summons /queue/inbox.jinshan-public-security jinshan-public-security",
            "inbox-copy summons /queue/inbox.guangchen-town guangchen-town",
        ])
        #expect(owed.allSatisfy { $0.sender == workflowBroker && $0.headers[WorkflowHeader.id] == "s-1" })
        #expect(owed.allSatisfy { $0.body == world.log[0].body }, "the copy carries the summons as the summoner sent it")
        #expect(owed.allSatisfy { $0.headers[WorkflowHeader.deadline] == "2025-06-12T02:10:00.000Z" })
        world.drive(to: t0)
        #expect(world.owed(at: t0).isEmpty)
        #expect(world.owed(at: t0 + minute).isEmpty, "a copy once written is not owed again")
        #expect(try world.summons("s-1").parties.allSatisfy(\.copied))
    }

    @Test func aSummonsSentStraightToAnInboxIsThatPartysCopy() throws {
        var world = WorkflowWorld()
        try world.send(.summons, Body.openSummons(["jinshan-public-security", "guangchen-town"]), from: langxiaTown,
                       to: inbox(guangchenTown), at: t0).get()
        #expect(world.owed(at: t0).map(\.owedSummary) == ["inbox-copy summons /queue/inbox.jinshan-public-security jinshan-public-security"])
    }

    // MARK: Report-ins

    @Test func aReportInOnTimeIsNotLate() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["jinshan-public-security"])
        try world.send(.reportIn, Body.reportIn(id, eta: "PT20M", note: "警车一辆"), from: jinshanPolice, at: t0 + 12 * minute).get()
        let summons = try world.summons(id)
        let police = try summons.party(jinshanPolice)
        #expect(police.reportedInAt == t0 + 12 * minute)
        #expect(police.eta == t0 + 32 * minute)
        #expect(police.people == 2)
        #expect(police.note == "警车一辆")
        #expect(police.lateBy(deadline: summons.deadline) == nil)
        #expect(summons.timeline.last?.text.contains("on time") == true)
    }

    @Test func aReportInAfterTheDeadlineIsLateByTheDifference() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["langxia-agri-coop"])
        try world.send(.reportIn, Body.reportIn(id, eta: "PT0S"), from: agriCoop, at: t0 + 42 * minute + 30 * second).get()
        let summons = try world.summons(id)
        #expect(try summons.party(agriCoop).lateBy(deadline: summons.deadline) == 12 * minute + 30 * second)
        #expect(summons.timeline.last?.text.contains("late by 12m 30s") == true)
    }

    @Test func aPartyReportsInOnlyOnce() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["jinshan-public-security"])
        try world.send(.reportIn, Body.reportIn(id), from: jinshanPolice, at: t0 + 5 * minute).get()
        let refusal = try #require(world.send(.reportIn, Body.reportIn(id, eta: "PT5M"), from: jinshanPolice, at: t0 + 9 * minute).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("already reported in at \(WorkflowTime.rfc3339(t0 + 5 * minute))"))
        #expect(try world.summons(id).party(jinshanPolice).reportedInAt == t0 + 5 * minute, "the first report-in stands")
    }

    @Test func aPartyThatWasNotSummonedCannotReportIn() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["jinshan-public-security"])
        let refusal = try #require(world.send(.reportIn, Body.reportIn(id), from: guangchenTown, at: t0 + minute).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("summoned"))
        #expect(refusal.message.contains("guangchen-town"))
    }

    @Test func aReportInToAnUnknownSummonsIsRefused() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["jinshan-public-security"])
        let refusal = try #require(world.send(.reportIn, Body.reportIn("s-99"), from: jinshanPolice, at: t0 + minute).failure)
        #expect(refusal.code == .unknownWorkflow)
        #expect(refusal.message.contains("s-99"))
    }

    // MARK: Progress and close

    @Test func theSummonerAndTheSummonedMayNoteProgressOthersMayNot() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["jinshan-public-security"])
        try world.send(.summons, Body.summonsProgress(id, "公安已到场"), from: jinshanPolice, at: t0 + minute).get()
        try world.send(.summons, Body.summonsProgress(id, "广陈镇在对岸"), from: langxiaTown, at: t0 + 2 * minute).get()
        let refusal = try #require(world.send(.summons, Body.summonsProgress(id), from: guangchenTown, at: t0 + 3 * minute).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("guangchen-town"))
        #expect(try world.summons(id).timeline.map(\.text).suffix(2) == ["progress: 公安已到场", "progress: 广陈镇在对岸"])
    }

    @Test func onlyTheSummonerCloses() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["jinshan-public-security"])
        let refusal = try #require(world.send(.summons, Body.closeSummons(id), from: jinshanPolice, at: t0 + minute).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("summoner"))
        #expect(try world.summons(id).state == "open")
        try world.send(.summons, Body.closeSummons(id, closedAt: "2025-06-12T16:30:00+08:00"), from: langxiaTown, at: t0 + 8 * hour).get()
        let closed = try world.summons(id)
        #expect(closed.state == "closed")
        #expect(closed.closedAt == t0 + 6 * hour + 50 * minute, "the closedAt of the body, not the time the message came")
        #expect(closed.resolution == "设备扣押，河岸加固")
    }

    @Test func aReportInAfterCloseIsRefusedNamingTheState() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["jinshan-public-security"])
        try world.send(.summons, Body.closeSummons(id), from: langxiaTown, at: t0 + 10 * minute).get()
        let refusal = try #require(world.send(.reportIn, Body.reportIn(id), from: jinshanPolice, at: t0 + 11 * minute).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("is closed"))
        #expect(try world.summons(id).party(jinshanPolice).reportedInAt == nil)
    }

    // MARK: Evaluations

    @Test func anEvaluationWaitsForTheClose() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["jinshan-public-security"])
        let refusal = try #require(world.send(.evaluation, Body.evaluation(id, party: "jinshan-public-security", score: 5), from: langxiaTown,
                                              at: t0 + minute).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("is open"))
    }

    @Test func theSummonerEvaluatesEachSummonedPartyOnce() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["jinshan-public-security", "langxia-agri-coop"])
        try world.send(.summons, Body.closeSummons(id), from: langxiaTown, at: t0 + hour).get()

        let byOther = try #require(world.send(.evaluation, Body.evaluation(id, party: "langxia-agri-coop", score: 1), from: jinshanPolice,
                                              at: t0 + hour + minute).failure)
        #expect(byOther.code == .invalidTransition)
        let ofStranger = try #require(world.send(.evaluation, Body.evaluation(id, party: "guangchen-town", score: 4), from: langxiaTown,
                                                 at: t0 + hour + minute).failure)
        #expect(ofStranger.code == .invalidTransition)
        #expect(ofStranger.message.contains("guangchen-town"))

        try world.send(.evaluation, Body.evaluation(id, party: "jinshan-public-security", score: 5), from: langxiaTown, at: t0 + hour + 2 * minute).get()
        let again = try #require(world.send(.evaluation, Body.evaluation(id, party: "jinshan-public-security", score: 3), from: langxiaTown,
                                            at: t0 + hour + 3 * minute).failure)
        #expect(again.code == .invalidTransition)
        #expect(again.message.contains("score 5"))
        let summons = try world.summons(id)
        #expect(try summons.party(jinshanPolice).score == 5)
        #expect(try summons.party(jinshanPolice).comment == "到场及时")
        #expect(try summons.party(agriCoop).score == nil)
    }
}
