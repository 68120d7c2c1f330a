import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

@Suite("Workflow: a joint operation (联合行动)")
struct WorkflowJointOperationTests {
    static let patrol: [(party: String, jurisdiction: String)] = [
        ("langxia-town", "jinshan"), ("guangchen-town", "pinghu"), ("jinshan-public-security", "jinshan"), ("pinghu-public-security", "pinghu"),
    ]

    /// op-1: the joint command opens the river patrol at t0.
    func patrolOpen() throws -> WorkflowWorld {
        var world = WorkflowWorld()
        try world.send(.jointOperation, Body.openOperation(members: Self.patrol), from: jointCommand, at: t0).get()
        return world
    }

    // MARK: Open

    @Test func openingAssignsTheNextOperationIdWithTheOpenerAmongTheMembers() throws {
        var world = WorkflowWorld()
        let first = try world.send(.jointOperation, Body.openOperation(members: Self.patrol), from: jointCommand, at: t0).get()
        let second = try world.send(.jointOperation, Body.openOperation(members: [("langxia-town", "jinshan"), ("guangchen-town", "pinghu")]),
                                    from: langxiaTown, at: t0 + minute).get()
        #expect(first.caseID == "op-1")
        #expect(second.caseID == "op-2")
        #expect(first.headers[WorkflowHeader.members]
            == "jinshan/joint-command,jinshan/langxia-town,pinghu/guangchen-town,jinshan/jinshan-public-security,pinghu/pinghu-public-security")
        #expect(try world.operation("op-2").members == [langxiaTown, guangchenTown], "the opener listed among the members is counted once")
        let operation = try world.operation("op-1")
        #expect(operation.opener == jointCommand)
        #expect(operation.state == "open")
        #expect(operation.channel == channel("op-1"))
        #expect(operation.windowStart == WorkflowTime.milliseconds(rfc3339: "2025-06-13T20:00:00+08:00"))
        #expect(operation.windowEnd == WorkflowTime.milliseconds(rfc3339: "2025-06-14T06:00:00+08:00"))
        #expect(world.book.operationOrder == ["op-1", "op-2"])
    }

    @Test(arguments: ["2025-06-13T19:00:00+08:00", "2025-06-13T20:00:00+08:00"])
    func aWindowThatDoesNotEndAfterItStartsIsRefusedAtStamping(end: String) throws {
        let world = WorkflowWorld()
        let refusal = try #require(world.stamp(.jointOperation, Body.openOperation(members: Self.patrol, end: end), from: jointCommand, at: t0).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains(end))
    }

    @Test func aMemberMustBeAPartyOfTheJurisdictionNamed() throws {
        var world = WorkflowWorld()
        let wrongPlace = try #require(world.send(.jointOperation, Body.openOperation(members: [("guangchen-town", "jinshan"), ("langxia-town", "jinshan")]),
                                                 from: jointCommand, at: t0).failure)
        #expect(wrongPlace.code == .unknownParty)
        #expect(wrongPlace.message.contains("pinghu"))
        let nobody = try #require(world.send(.jointOperation, Body.openOperation(members: [("nobody", "jinshan"), ("langxia-town", "jinshan")]),
                                             from: jointCommand, at: t0).failure)
        #expect(nobody.code == .unknownParty)
        #expect(world.book.operations.isEmpty)
    }

    @Test func anOperationOwesNothingAndSetsNoDeadline() throws {
        let world = try patrolOpen()
        #expect(world.owed(at: t0 + 48 * hour).isEmpty)
        #expect(world.book.nextDeadline() == nil)
    }

    // MARK: The channel

    @Test func joinNoticeAndCloseMustGoToTheOperationsChannel() throws {
        var world = try patrolOpen()
        for (sender, body) in [(shantaGrid, Body.join("op-1", party: "shanta-village-grid")), (langxiaTown, Body.notice("op-1")),
                               (jointCommand, Body.closeOperation("op-1"))] {
            let refusal = try #require(world.send(.jointOperation, body, from: sender, to: jointOperationTopic, at: t0 + minute).failure)
            #expect(refusal.code == .invalidTransition)
            #expect(refusal.message.contains("/topic/joint.op-1"))
        }
        let other = try #require(world.send(.jointOperation, Body.notice("op-1"), from: langxiaTown, to: channel("op-2"), at: t0 + minute).failure)
        #expect(other.code == .invalidTransition)
        let operation = try world.operation("op-1")
        #expect(operation.state == "open")
        #expect(operation.notices == 0)
        #expect(!operation.members.contains(shantaGrid))
    }

    @Test func anActionOnAnUnknownOperationIsRefused() throws {
        var world = try patrolOpen()
        let refusal = try #require(world.send(.jointOperation, Body.notice("op-9"), from: langxiaTown, to: channel("op-9"), at: t0).failure)
        #expect(refusal.code == .unknownWorkflow)
        #expect(refusal.message.contains("op-9"))
    }

    // MARK: Notices

    @Test func membersPostNoticesOthersMayNot() throws {
        var world = try patrolOpen()
        try world.send(.jointOperation, Body.notice("op-1", "可疑船只一艘"), from: pinghuPolice, to: channel("op-1"), at: t0 + minute).get()
        try world.send(.jointOperation, Body.notice("op-1", "对岸已堵截"), from: jointCommand, to: channel("op-1"), at: t0 + 2 * minute).get()
        let refusal = try #require(world.send(.jointOperation, Body.notice("op-1"), from: agriCoop, to: channel("op-1"), at: t0 + 3 * minute).failure)
        #expect(refusal.code == .invalidTransition)
        #expect(refusal.message.contains("member"))
        #expect(refusal.message.contains("langxia-agri-coop"))
        let operation = try world.operation("op-1")
        #expect(operation.notices == 2)
        #expect(operation.timeline.map(\.text).suffix(2) == ["notice: 可疑船只一艘", "notice: 对岸已堵截"])
    }

    // MARK: Joining

    @Test func aPartyJoinsOnItsOwnBehalfAndThenMayPostNotices() throws {
        var world = try patrolOpen()
        let join = try world.send(.jointOperation, Body.join("op-1", party: "shanta-village-grid"), from: shantaGrid, to: channel("op-1"), at: t0 + minute).get()
        #expect(join.headers[WorkflowHeader.party] == "jinshan/shanta-village-grid")
        #expect(try world.operation("op-1").members.last == shantaGrid)
        try world.send(.jointOperation, Body.notice("op-1"), from: shantaGrid, to: channel("op-1"), at: t0 + 2 * minute).get()
    }

    @Test func theOpenerMayJoinAnotherPartyAMemberMayNot() throws {
        var world = try patrolOpen()
        let byMember = try #require(world.send(.jointOperation, Body.join("op-1", party: "langxia-agri-coop"), from: langxiaTown, to: channel("op-1"),
                                               at: t0 + minute).failure)
        #expect(byMember.code == .invalidTransition)
        #expect(!(try world.operation("op-1").members.contains(agriCoop)))
        try world.send(.jointOperation, Body.join("op-1", party: "langxia-agri-coop"), from: jointCommand, to: channel("op-1"), at: t0 + 2 * minute).get()
        #expect(try world.operation("op-1").members.contains(agriCoop))
    }

    @Test func aMemberCannotJoinAgainAndAnUnknownPartyCannotJoin() throws {
        var world = try patrolOpen()
        let again = try #require(world.send(.jointOperation, Body.join("op-1", party: "guangchen-town"), from: guangchenTown, to: channel("op-1"),
                                            at: t0 + minute).failure)
        #expect(again.code == .invalidTransition)
        #expect(again.message.contains("already a member"))
        let unknown = try #require(world.send(.jointOperation, Body.join("op-1", party: "nobody"), from: jointCommand, to: channel("op-1"),
                                              at: t0 + minute).failure)
        #expect(unknown.code == .unknownParty)
        #expect(try world.operation("op-1").members.count == 5)
    }

    // MARK: Close

    @Test func onlyTheOpenerCloses() throws {
        var world = try patrolOpen()
        let byMember = try #require(world.send(.jointOperation, Body.closeOperation("op-1"), from: langxiaTown, to: channel("op-1"), at: t0 + hour).failure)
        #expect(byMember.code == .invalidTransition)
        #expect(byMember.message.contains("opener"))
        try world.send(.jointOperation, Body.closeOperation("op-1"), from: jointCommand, to: channel("op-1"), at: t0 + 10 * hour).get()
        let operation = try world.operation("op-1")
        #expect(operation.state == "closed")
        #expect(operation.summary == "查获非法淘金船1艘")
    }

    @Test func nothingIsPostedToAClosedOperation() throws {
        var world = try patrolOpen()
        try world.send(.jointOperation, Body.closeOperation("op-1"), from: jointCommand, to: channel("op-1"), at: t0 + hour).get()
        let notice = try #require(world.send(.jointOperation, Body.notice("op-1"), from: guangchenTown, to: channel("op-1"), at: t0 + 2 * hour).failure)
        #expect(notice.code == .invalidTransition)
        #expect(notice.message.contains("closed"))
        let join = try #require(world.send(.jointOperation, Body.join("op-1", party: "shanta-village-grid"), from: shantaGrid, to: channel("op-1"),
                                           at: t0 + 2 * hour).failure)
        #expect(join.code == .invalidTransition)
        let close = try #require(world.send(.jointOperation, Body.closeOperation("op-1"), from: jointCommand, to: channel("op-1"), at: t0 + 2 * hour).failure)
        #expect(close.code == .invalidTransition)
        #expect(try world.operation("op-1").notices == 0)
    }
}
