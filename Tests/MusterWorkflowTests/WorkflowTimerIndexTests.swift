import Foundation
import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

/// The timers look only at the cases that owe something: a book of many open summonses says
/// what is owed, and when next, from its index, and a book decoded from a snapshot (its index
/// rebuilt) says the same as the book it was encoded from.
@Suite("Workflow: the timer index")
struct WorkflowTimerIndexTests {
    /// 200 summonses opened a second apart, each due 30 minutes after it opened, reminded 10
    /// minutes before; every inbox copy written; every third reported in.
    func busyBook() throws -> WorkflowWorld {
        var world = WorkflowWorld()
        for index in 0..<200 {
            let opened = t0 + Int64(index) * second
            let id = try world.blowWhistle(["guangchen-town"], deadline: "PT30M", reminders: ["PT10M"], at: opened)
            world.drive(to: opened)
            if index % 3 == 0 { try world.send(.reportIn, Body.reportIn(id), from: guangchenTown, at: opened + 200 * second).get() }
        }
        return world
    }

    @Test func onlyTheCasesWhoseTimeHasComeOweAndTheNextTimeIsTheEarliest() throws {
        var world = try busyBook()
        // s-2 (opened at t0+1s, not reported in) is the first summons left to remind: at t0+1s+20m.
        let first = t0 + second + 20 * minute
        #expect(world.book.nextDeadline() == first)
        #expect(world.owed(at: first - 1).isEmpty)
        #expect(world.owed(at: first).map(\.owedSummary) == ["reminder summons /queue/inbox.guangchen-town guangchen-town"])
        #expect(world.owed(at: first).first?.headers[WorkflowHeader.id] == "s-2")
        world.drive(to: first)
        #expect(world.book.nextDeadline() == first + second, "s-3's reminder")
        // Far later: every summons not reported in is escalated, in the order they were opened.
        let late = world.owed(at: t0 + 1000 * minute).filter { $0.destination == WorkflowBook.escalationTopic }
        let expected = (0..<200).filter { $0 % 3 != 0 }.map { "s-\($0 + 1)" }
        #expect(late.map { $0.headers[WorkflowHeader.id]! } == expected)
    }

    @Test func aDecodedBookOwesWhatTheBookItWasEncodedFromOwes() throws {
        let world = try busyBook()
        let decoded = try JSONDecoder().decode(WorkflowBook.self, from: try JSONEncoder().encode(world.book))
        #expect(decoded.nextDeadline() == world.book.nextDeadline())
        for minutes in [0, 20, 21, 25, 31, 100, 1000] {
            let now = t0 + Int64(minutes) * minute
            let fromDecoded = decoded.dueMessages(now: now, broker: workflowBroker, directory: workflowDirectory)
            let fromLive = world.owed(at: now)
            #expect(fromDecoded.map(\.owedSummary) == fromLive.map(\.owedSummary), "at t0+\(minutes)m")
            #expect(fromDecoded.map { $0.headers[WorkflowHeader.id] } == fromLive.map { $0.headers[WorkflowHeader.id] }, "at t0+\(minutes)m")
        }
    }
}
