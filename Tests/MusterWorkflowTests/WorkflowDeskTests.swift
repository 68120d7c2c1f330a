import Synchronization
import MusterTestSupport
import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

/// The broker with a workflow desk over an in-memory store, on a manual clock.
private struct DeskBroker {
    let clock = ManualClock(t0)
    let store = InMemoryMessageStore()
    let desk: WorkflowDesk
    let broker: Broker

    init(inboxCheck: @escaping @Sendable (Publication) -> PolicyRefusal? = { _ in nil }) {
        let clock = self.clock
        desk = WorkflowDesk(identity: workflowBroker, clock: { clock.now }, directory: { workflowDirectory }, inboxCheck: inboxCheck)
        broker = Broker(store: store, clock: { clock.now }, workflow: desk)
    }

    /// Publishes and returns what the completion said (the in-memory store completes on this thread).
    func publish(_ type: WorkflowType, _ body: String, from sender: PartyIdentity, to destination: Destination? = nil) throws
        -> Result<StoredMessage, BrokerError> {
        let outcome = Mutex<Result<StoredMessage, BrokerError>?>(nil)
        broker.publish(workflowPublication(type, body, from: sender, to: destination)) { result in outcome.withLock { $0 = result } }
        return try #require(outcome.withLock { $0 }, "publish completed before it returned")
    }

    func messages(_ destination: Destination) throws -> [StoredMessage] {
        try store.read(destination, from: 0, limit: 100).messages
    }
}

@Suite("Workflow: the desk in the broker")
struct WorkflowDeskTests {
    @Test func anOpenedSummonsIsStoredStampedWithItsInboxCopies() throws {
        let world = DeskBroker()
        let stored = try world.publish(.summons, Body.openSummons(["jinshan-public-security", "guangchen-town"]), from: langxiaTown).get()
        #expect(stored.offset == 0)
        #expect(stored.publication.headers[WorkflowHeader.id] == "s-1")
        #expect(stored.publication.headers[WorkflowHeader.time] == String(t0))
        #expect(stored.publication.headers[WorkflowHeader.summoned] == "jinshan/jinshan-public-security,pinghu/guangchen-town")
        #expect(stored.publication.headers[WorkflowHeader.deadline] == "2025-06-12T02:10:00.000Z")
        #expect(try world.messages(summonsTopic).count == 1)

        for party in [jinshanPolice, guangchenTown] {
            let copies = try world.messages(inbox(party))
            #expect(copies.count == 1, "one copy for \(party.party)")
            #expect(copies.first?.publication.owedSummary == "inbox-copy summons \(inbox(party)) \(party.party)")
            #expect(copies.first?.publication.sender == workflowBroker)
            #expect(copies.first?.publication.body == stored.publication.body)
        }
        #expect(world.store.nextOffset == 3)
        #expect(world.desk.read { book, _ in book.summonses["s-1"]?.parties.allSatisfy(\.copied) } == true)
    }

    @Test func anInvalidTransitionIsRefusedAndNothingIsStored() throws {
        let world = DeskBroker()
        _ = try world.publish(.summons, Body.openSummons(["jinshan-public-security"]), from: langxiaTown).get()
        world.clock.set(t0 + 5 * minute)
        _ = try world.publish(.reportIn, Body.reportIn("s-1"), from: jinshanPolice).get()
        let before = world.store.nextOffset

        world.clock.set(t0 + 6 * minute)
        let again = try #require(try world.publish(.reportIn, Body.reportIn("s-1"), from: jinshanPolice).failure)
        #expect(again.code == .invalidTransition)
        let stranger = try #require(try world.publish(.reportIn, Body.reportIn("s-1"), from: guangchenTown).failure)
        #expect(stranger.code == .invalidTransition)
        let unknown = try #require(try world.publish(.reportIn, Body.reportIn("s-9"), from: jinshanPolice).failure)
        #expect(unknown.code == .unknownWorkflow)
        #expect(world.store.nextOffset == before)
        #expect(try world.messages(reportInTopic).count == 1)
    }

    @Test func aMessageThatIsNotAWorkflowTypePassesTheDeskBy() throws {
        let world = DeskBroker()
        let notice = Publication(destination: noticesTopic, headers: [:], body: Array("联合巡逻 08:00".utf8), sender: guangchenTown)
        #expect(!world.desk.claims(notice))
        let outcome = Mutex<Result<StoredMessage, BrokerError>?>(nil)
        world.broker.publish(notice) { result in outcome.withLock { $0 = result } }
        #expect(try outcome.withLock { $0 }?.get().publication.headers[WorkflowHeader.time] == nil)
    }

    @Test func theTimersStoreTheEscalationOnceTheClockPassesTheDeadline() throws {
        let world = DeskBroker()
        _ = try world.publish(.summons, Body.openSummons(["jinshan-public-security", "guangchen-town"], reminders: ["PT10M"]), from: langxiaTown).get()
        world.clock.set(t0 + 3 * minute)
        _ = try world.publish(.reportIn, Body.reportIn("s-1"), from: guangchenTown).get()

        #expect(world.broker.runWorkflowTimers() == t0 + 20 * minute)
        let quiet = world.store.nextOffset
        world.clock.set(t0 + 20 * minute)
        #expect(world.broker.runWorkflowTimers() == t0 + 30 * minute)
        let reminders = try world.messages(inbox(jinshanPolice)).filter { $0.publication.workflowEvent == "reminder" }
        #expect(reminders.count == 1)
        #expect(world.store.nextOffset == quiet + 1)
        #expect(try world.messages(WorkflowBook.escalationTopic).isEmpty)

        world.clock.set(t0 + 31 * minute)
        #expect(world.broker.runWorkflowTimers() == nil)
        let escalations = try world.messages(WorkflowBook.escalationTopic)
        #expect(escalations.count == 1)
        let record = try #require(escalations.first?.publication.json)
        #expect(record["missingParty"] == .string("jinshan-public-security"))
        #expect(record["deadline"] == .string("2025-06-12T02:10:00.000Z"))
        #expect(record["escalatedAt"] == .string(WorkflowTime.rfc3339(t0 + 31 * minute)))
        #expect(try world.messages(inbox(langxiaTown)).map(\.publication.owedSummary) == ["inbox-copy escalation /queue/inbox.langxia-town jinshan-public-security"])
        #expect(try world.messages(inbox(jointCommand)).count == 1, "the police's supervisor is told")

        let written = world.store.nextOffset
        world.clock.set(t0 + 2 * hour)
        _ = world.broker.runWorkflowTimers()
        #expect(world.store.nextOffset == written, "an escalation is written once")
    }

    @Test func aSummonsIsRefusedWholeWhenOneInboxWillNotAdmitIt() throws {
        let world = DeskBroker(inboxCheck: { copy in
            guard copy.destination == inbox(guangchenTown) else { return nil }
            return PolicyRefusal(BrokerError(.notAdmitted, "summons is not on guangchen-town's admission list"), rule: "topics[7]",
                                 party: copy.sender, destination: copy.destination, type: copy.headers[ReservedHeader.type])
        })
        let refusal = try #require(try world.publish(.summons, Body.openSummons(["jinshan-public-security", "guangchen-town"]), from: langxiaTown).failure)
        #expect(refusal.code == .notAdmitted)
        #expect(refusal.message.contains("topics[7]"))
        #expect(world.store.nextOffset == 0, "neither the summons nor the police's copy is stored")
        #expect(world.desk.read { book, _ in book.summonses.isEmpty })
        #expect(world.broker.runWorkflowTimers() == nil)

        let admitted = try world.publish(.summons, Body.openSummons(["jinshan-public-security"]), from: langxiaTown).get()
        #expect(admitted.publication.headers[WorkflowHeader.id] == "s-1")
    }

    @Test func theInboxCheckSeesTheCopyAsTheSenderWouldSendIt() throws {
        let checked = Mutex<[String]>([])
        let world = DeskBroker(inboxCheck: { copy in
            checked.withLock { $0.append("\(copy.sender.party) \(copy.destination) \(copy.headers[ReservedHeader.type] ?? "-")") }
            return nil
        })
        _ = try world.publish(.handoff, Body.dispatch(to: "shanta-village-grid", due: t0 + hour), from: langxiaTown).get()
        _ = try world.publish(.handoff, Body.handoff("transfer", "h-1", #""to": "guangchen-town", "reason": "转派""#), from: shantaGrid).get()
        #expect(checked.withLock { $0 } == [
            "langxia-town /queue/inbox.shanta-village-grid handoff",
            "shanta-village-grid /queue/inbox.guangchen-town handoff",
        ])
        #expect(try world.messages(inbox(guangchenTown)).count == 1)
    }

    @Test func aFailedAppendMakesTheDeskRebuildFromTheLogBeforeItsNextDecision() throws {
        let log = Mutex<[Publication]>([])
        let failing = Mutex(false)
        let clock = ManualClock(t0)
        let desk = WorkflowDesk(identity: workflowBroker, clock: { clock.now }, directory: { workflowDirectory }, rebuild: {
            var book = WorkflowBook()
            for publication in log.withLock({ $0 }) { book.replay(publication) }
            return (book, InboxDeliveries())
        })
        let store: WorkflowDesk.Store = { publication, completion in
            if failing.withLock({ $0 }) { return completion(.failure(BrokerError(.storageFailure, "disk full"))) }
            let offset = log.withLock { log in log.append(publication); return UInt64(log.count - 1) }
            completion(.success(StoredMessage(offset: offset, timestamp: clock.now, publication: publication)))
        }
        func submit(_ type: WorkflowType, _ body: String, from sender: PartyIdentity) -> Result<StoredMessage, BrokerError>? {
            let outcome = Mutex<Result<StoredMessage, BrokerError>?>(nil)
            desk.submit(workflowPublication(type, body, from: sender), store: store) { result in outcome.withLock { $0 = result } }
            return outcome.withLock { $0 }
        }

        #expect(submit(.summons, Body.openSummons(["jinshan-public-security"]), from: langxiaTown)?.failure == nil)
        clock.set(t0 + minute)
        failing.withLock { $0 = true }
        #expect(submit(.reportIn, Body.reportIn("s-1"), from: jinshanPolice)?.failure?.code == .storageFailure)
        failing.withLock { $0 = false }
        #expect(desk.read { book, _ in book.summonses["s-1"]?.parties.first?.reportedInAt } == nil, "the report-in is not in the log")
        #expect(submit(.reportIn, Body.reportIn("s-1"), from: jinshanPolice)?.failure == nil, "so it can be sent again")
        #expect(log.withLock { $0.count } == 3)
    }
}
