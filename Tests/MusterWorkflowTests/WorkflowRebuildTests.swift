import Foundation
import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

/// The workflow state is a pure function of the log: a fresh book fed the stored messages in
/// order reaches the state the live book reached, and owes exactly what was not yet written.
@Suite("Workflow: rebuilding the book from the log")
struct WorkflowRebuildTests {
    /// An afternoon on the border: two summonses, a hand-off, a joint operation, with
    /// reminders, escalations and inbox copies written as they fell due.
    func afternoon() throws -> WorkflowWorld {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["jinshan-public-security", "guangchen-town", "langxia-agri-coop"], reminders: ["PT10M", "PT5M"])
        world.drive(to: t0)
        try world.send(.reportIn, Body.reportIn("s-1", eta: "PT15M", note: "警车一辆"), from: jinshanPolice, at: t0 + 8 * minute).get()
        world.drive(to: t0 + 20 * minute)
        try world.send(.summons, Body.summonsProgress("s-1", "公安已到场"), from: jinshanPolice, at: t0 + 22 * minute).get()
        world.drive(to: t0 + 27 * minute)
        try world.send(.reportIn, Body.reportIn("s-1"), from: guangchenTown, at: t0 + 28 * minute).get()
        world.drive(to: t0 + 31 * minute)
        try world.send(.reportIn, Body.reportIn("s-1", eta: "PT0S"), from: agriCoop, at: t0 + 50 * minute).get()

        _ = try world.blowWhistle([.every(.department, in: "pinghu")], deadline: "PT2H", reminders: ["PT30M"], from: guangchenTown, at: t0 + hour)
        try world.send(.handoff, Body.dispatch(to: "shanta-village-grid", due: t0 + 3 * hour), from: langxiaTown, at: t0 + hour + minute).get()
        world.drive(to: t0 + hour + minute)
        try world.send(.handoff, Body.handoff("reject", "h-1", #""reason": "属广陈镇管养""#), from: shantaGrid, at: t0 + hour + 10 * minute).get()
        try world.send(.handoff, Body.handoff("transfer", "h-1", #""to": "guangchen-town", "reason": "转派""#), from: langxiaTown,
                       at: t0 + hour + 20 * minute).get()
        world.drive(to: t0 + hour + 20 * minute)
        try world.send(.handoff, Body.handoff("accept", "h-1"), from: guangchenTown, at: t0 + 2 * hour).get()
        world.drive(to: t0 + 2 * hour + 30 * minute)
        world.drive(to: t0 + 3 * hour)
        try world.send(.handoff, Body.handoff("complete", "h-1", #""result": "涵洞已疏通""#), from: guangchenTown, at: t0 + 4 * hour).get()
        try world.send(.handoff, Body.handoff("rate", "h-1", #""score": 4, "rater": "originator""#), from: langxiaTown, at: t0 + 4 * hour).get()

        try world.send(.summons, Body.closeSummons("s-1"), from: langxiaTown, at: t0 + 5 * hour).get()
        try world.send(.evaluation, Body.evaluation("s-1", party: "langxia-agri-coop", score: 2), from: langxiaTown, at: t0 + 5 * hour).get()

        try world.send(.jointOperation, Body.openOperation(members: [("langxia-town", "jinshan"), ("guangchen-town", "pinghu")]),
                       from: jointCommand, at: t0 + 6 * hour).get()
        try world.send(.jointOperation, Body.join("op-1", party: "shanta-village-grid"), from: shantaGrid, to: channel("op-1"), at: t0 + 6 * hour).get()
        try world.send(.jointOperation, Body.notice("op-1"), from: shantaGrid, to: channel("op-1"), at: t0 + 7 * hour).get()
        try world.send(.jointOperation, Body.closeOperation("op-1"), from: jointCommand, to: channel("op-1"), at: t0 + 8 * hour).get()
        world.drive(to: t0 + 8 * hour)
        return world
    }

    func replayed(_ log: [Publication]) -> WorkflowBook {
        var book = WorkflowBook()
        for publication in log { book.replay(publication) }
        return book
    }

    /// Every field of every case, in comparable form.
    func expectSameState(_ rebuilt: WorkflowBook, _ live: WorkflowBook, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(rebuilt.summonsOrder == live.summonsOrder, sourceLocation: sourceLocation)
        #expect(rebuilt.handoffOrder == live.handoffOrder, sourceLocation: sourceLocation)
        #expect(rebuilt.operationOrder == live.operationOrder, sourceLocation: sourceLocation)
        for id in live.summonsOrder {
            #expect(rebuilt.summonses[id]?.state == live.summonses[id]?.state, sourceLocation: sourceLocation)
            #expect(rebuilt.summonses[id]?.parties.map(\.identity) == live.summonses[id]?.parties.map(\.identity), sourceLocation: sourceLocation)
            #expect(rebuilt.summonses[id]?.timeline == live.summonses[id]?.timeline, sourceLocation: sourceLocation)
            #expect(String(describing: rebuilt.summonses[id]) == String(describing: live.summonses[id]), "summons \(id)", sourceLocation: sourceLocation)
        }
        for id in live.handoffOrder {
            #expect(rebuilt.handoffs[id]?.state == live.handoffs[id]?.state, sourceLocation: sourceLocation)
            #expect(rebuilt.handoffs[id]?.timeline == live.handoffs[id]?.timeline, sourceLocation: sourceLocation)
            #expect(String(describing: rebuilt.handoffs[id]) == String(describing: live.handoffs[id]), "hand-off \(id)", sourceLocation: sourceLocation)
        }
        for id in live.operationOrder {
            #expect(rebuilt.operations[id]?.members == live.operations[id]?.members, sourceLocation: sourceLocation)
            #expect(String(describing: rebuilt.operations[id]) == String(describing: live.operations[id]), "operation \(id)", sourceLocation: sourceLocation)
        }
        #expect(rebuilt.nextDeadline() == live.nextDeadline(), sourceLocation: sourceLocation)
        #expect(rebuilt.admissionRefusals == live.admissionRefusals, sourceLocation: sourceLocation)
    }

    @Test func theAfternoonIsWhatTheLiveBookSaysItWas() throws {
        let world = try afternoon()
        let s1 = try world.summons("s-1")
        #expect(s1.state == "closed")
        #expect(try s1.party(agriCoop).escalatedAt == t0 + 31 * minute)
        #expect(try s1.party(agriCoop).score == 2)
        #expect(try s1.party(guangchenTown).lastReminder == 5 * minute)
        #expect(try world.summons("s-2").party(pinghuPolice).escalatedAt == t0 + 3 * hour)
        #expect(try world.handoff("h-1").legs.map(\.escalatedAt) == [nil, t0 + 3 * hour])
        #expect(try world.handoff("h-1").state == "rated")
        #expect(try world.operation("op-1").state == "closed")
        #expect(world.log.filter { $0.workflowEvent == "escalation" }.count == 3)
        #expect(world.log.filter { $0.workflowEvent == "reminder" }.count == 5)
    }

    @Test func replayingTheLogReachesTheSameState() throws {
        let world = try afternoon()
        expectSameState(replayed(world.log), world.book)
    }

    @Test func replayingEveryPrefixReachesTheStateTheLiveBookHadThen() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["jinshan-public-security", "langxia-agri-coop"], reminders: ["PT10M"])
        var states = [String(describing: world.book.summonses["s-1"])]
        var marks = [world.log.count]
        for (time, step) in [(t0, 0), (t0 + 3 * minute, 1), (t0 + 20 * minute, 0), (t0 + 30 * minute, 0), (t0 + 40 * minute, 2)] {
            switch step {
            case 1: try world.send(.reportIn, Body.reportIn("s-1"), from: jinshanPolice, at: time).get()
            case 2: try world.send(.summons, Body.closeSummons("s-1"), from: langxiaTown, at: time).get()
            default: world.drive(to: time)
            }
            states.append(String(describing: world.book.summonses["s-1"]))
            marks.append(world.log.count)
        }
        #expect(Set(states).count == states.count, "each step changed the summons")
        for (state, mark) in zip(states, marks) {
            #expect(String(describing: replayed(Array(world.log.prefix(mark))).summonses["s-1"]) == state, "after \(mark) messages")
        }
    }

    @Test func aRebuiltBookOwesWhatWasNotYetWritten() throws {
        var world = WorkflowWorld()
        _ = try world.blowWhistle(["jinshan-public-security", "guangchen-town"])
        let copies = world.owed(at: t0 + minute)
        world.drive(to: t0 + minute)
        let crashed = replayed(Array(world.log.prefix(2)))
        let owed = crashed.dueMessages(now: t0 + minute, broker: workflowBroker, directory: workflowDirectory)
        #expect(owed.map(\.owedSummary) == [copies[1].owedSummary], "the first copy was written before the crash")
        #expect(owed.first?.body == copies[1].body)
        #expect(replayed(world.log).dueMessages(now: t0 + minute, broker: workflowBroker, directory: workflowDirectory).isEmpty)
    }

    @Test func aRebuiltBookAssignsTheNextIds() throws {
        let world = try afternoon()
        var rebuilt = WorkflowWorld()
        rebuilt.book = replayed(world.log)
        #expect(try rebuilt.blowWhistle(["guangchen-town"], at: t0 + 9 * hour) == "s-3")
        #expect(try rebuilt.send(.handoff, Body.dispatch(to: "guangchen-town", due: t0 + 30 * hour), from: langxiaTown, at: t0 + 9 * hour).get().caseID == "h-2")
        #expect(try rebuilt.send(.jointOperation, Body.openOperation(members: [("langxia-town", "jinshan"), ("guangchen-town", "pinghu")]),
                                 from: jointCommand, at: t0 + 9 * hour).get().caseID == "op-2")
    }

    @Test func refusedUnstampedAndOrdinaryMessagesInTheLogChangeNothing() throws {
        let world = try afternoon()
        // A second report-in, stamped but refused when it was sent; the same report-in unstamped; a plain notice.
        let refused = try world.stamp(.reportIn, Body.reportIn("s-1"), from: jinshanPolice, at: t0 + 9 * hour).get()
        let unstamped = workflowPublication(.reportIn, Body.reportIn("s-2"), from: pinghuPolice)
        let notice = Publication(destination: noticesTopic, headers: [:], body: Array("联合巡逻 08:00".utf8), sender: guangchenTown)
        var log = world.log
        log.insert(contentsOf: [refused, unstamped, notice], at: log.count / 2)
        log += [refused, unstamped, notice]
        expectSameState(replayed(log), world.book)
    }

    @Test func admissionRefusalsAreCountedFromTheAuditTopic() throws {
        func record(_ code: ErrorCode, _ party: PartyIdentity, at time: Int64) throws -> Publication {
            let refusal = PolicyRefusal(BrokerError(code, "drain-clearing is not on the admission list"), rule: "topics[1]", party: party,
                                        destination: inbox(shantaGrid), type: "handoff")
            let body = try JSONEncoder().encode(RefusalRecord(refusal, time: time, digest: nil, bytes: 120))
            return Publication(destination: RefusalRecord.destination, headers: [:], body: Array(body), sender: workflowBroker)
        }
        var book = WorkflowBook()
        book.replay(try record(.notAdmitted, guangchenTown, at: t0))
        book.replay(try record(.notAuthorized, guangchenTown, at: t0 + minute))
        book.replay(try record(.notAdmitted, jinshanPolice, at: t0 + 2 * minute))
        #expect(book.admissionRefusals == [
            AdmissionRefusal(party: guangchenTown, time: t0), AdmissionRefusal(party: jinshanPolice, time: t0 + 2 * minute),
        ])
    }
}
