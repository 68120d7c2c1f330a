import Foundation
import Synchronization
import MusterTestSupport
import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

// Cases two brokers follow: Jinshan's broker (Langxia town, Jinshan public security, ...) and
// Pinghu's (Guangchen town, Pinghu public security), linked; for a third jurisdiction, Jiashan.
// Each broker is a `WorkflowWorld` with its own directory (`here`, `linked`); what one broker's
// link brings to the other is its stored record with `muster-via: JURISDICTION`, as the link
// stores it.

private let jiashanTown = PartyIdentity(jurisdiction: "jiashan", party: "jiashan-town")
private let jinshanBroker = PartyIdentity(jurisdiction: "jinshan", party: "broker")
private let pinghuBroker = PartyIdentity(jurisdiction: "pinghu", party: "broker")

private let borderParties = workflowParties + [RegisteredParty(identity: jiashanTown, name: "嘉善镇", kind: .township)]

private func borderDirectory(here: String, linked: Set<String>) -> WorkflowDirectory {
    WorkflowDirectory(parties: Dictionary(uniqueKeysWithValues: borderParties.map { ($0.identity, $0) }), here: here, linked: linked)
}

/// Jinshan's broker, linked to Pinghu's (and to `linked`, when given).
private func jinshanWorld(linked: Set<String> = ["pinghu"]) -> WorkflowWorld {
    WorkflowWorld(directory: borderDirectory(here: "jinshan", linked: linked))
}

/// Pinghu's broker, linked to Jinshan's.
private func pinghuWorld() -> WorkflowWorld {
    WorkflowWorld(directory: borderDirectory(here: "pinghu", linked: ["jinshan"]))
}

/// A record as the link from `jurisdiction`'s broker stores it here.
private func via(_ jurisdiction: String, _ publication: Publication) -> Publication {
    var imported = publication
    imported.headers[FederationHeader.via] = jurisdiction
    return imported
}

/// A party's workflow message as its broker stamped it (id and time), optionally as a link brought it.
private func record(_ type: WorkflowType, _ body: String, from sender: PartyIdentity, id: String, at time: Int64,
                    via jurisdiction: String?) -> Publication {
    var stamped = workflowPublication(type, body, from: sender)
    stamped.headers[WorkflowHeader.id] = id
    stamped.headers[WorkflowHeader.time] = String(time)
    return jurisdiction.map { via($0, stamped) } ?? stamped
}

private func workflowMessage(_ publication: Publication, sourceLocation: SourceLocation = #_sourceLocation) throws -> WorkflowMessage {
    try #require(WorkflowMessage(publication), "not a workflow message: \(publication.headers)", sourceLocation: sourceLocation)
}

private func marks(delivered: Int64?, acked: Int64?) -> InboxDeliveries.Marks {
    InboxDeliveries.Marks(deliveredAt: delivered, ackedAt: acked)
}

extension WorkflowWorld {
    /// Takes a record the link brought (as `WorkflowBook.handle` does for the desk); it joins the log when taken.
    @discardableResult
    fileprivate mutating func take(_ publication: Publication, sourceLocation: SourceLocation = #_sourceLocation) throws -> Result<Void, BrokerError> {
        let result = book.handle(try workflowMessage(publication, sourceLocation: sourceLocation))
        if case .success = result { log.append(publication) }
        return result
    }

    /// Opens a summons from langxia-town at t0 and returns the stamped open.
    fileprivate mutating func open(_ summoned: [Summoned], from summoner: PartyIdentity = langxiaTown, at time: Int64 = t0) throws -> Publication {
        try send(.summons, Body.openSummons(summoned), from: summoner, at: time).get().publication
    }

    fileprivate mutating func dispatch(to assignee: String, from originator: PartyIdentity = langxiaTown, at time: Int64 = t0) throws -> Publication {
        try send(.handoff, Body.dispatch(to: assignee, due: time + hour), from: originator, at: time).get().publication
    }
}

@Suite("Workflow: cases across the border")
struct WorkflowCrossBorderTests {
    // MARK: Stamping: qualified ids

    @Test func aSummonsNamingALinkedPartyGetsTheOwnersPrefix() throws {
        var jinshan = jinshanWorld()
        #expect(try jinshan.blowWhistle(["guangchen-town", "jinshan-public-security"]) == "jinshan.s-1")
        // A selector that reaches into Pinghu qualifies the id too; numbering counts every case this broker opened.
        #expect(try jinshan.blowWhistle([.every(.township, in: "pinghu")], at: t0 + minute) == "jinshan.s-2")
        #expect(try jinshan.blowWhistle(["jinshan-public-security"], at: t0 + 2 * minute) == "s-3")
        #expect(jinshan.book.summonsOrder == ["jinshan.s-1", "jinshan.s-2", "s-3"])
        #expect(jinshan.book.summonses.values.allSatisfy { $0.owner == nil }, "this broker owns what it opened")

        // Unlinked, the same summons is an ordinary case: Pinghu's broker does not follow it.
        var alone = jinshanWorld(linked: [])
        #expect(try alone.blowWhistle(["guangchen-town", "jinshan-public-security"]) == "s-1")
        // Linked to Jiashan only, Pinghu's parties are this broker's to serve: no prefix.
        var jiashanOnly = jinshanWorld(linked: ["jiashan"])
        #expect(try jiashanOnly.blowWhistle(["guangchen-town"]) == "s-1")
    }

    @Test func localNumberingIgnoresCasesOpenedByALinkedBroker() throws {
        var jinshan = jinshanWorld()
        #expect(try jinshan.blowWhistle(["jinshan-public-security"]) == "s-1")

        var pinghu = pinghuWorld()
        let pinghuOpen = try pinghu.open(["jinshan-public-security"], from: guangchenTown)
        #expect(pinghuOpen.headers[WorkflowHeader.id] == "pinghu.s-1")
        try jinshan.take(via("pinghu", pinghuOpen)).get()
        #expect(try jinshan.summons("pinghu.s-1").owner == "pinghu")

        #expect(try jinshan.blowWhistle(["shanta-village-grid"], at: t0 + minute) == "s-2", "pinghu.s-1 is not one of this broker's cases")
        #expect(try jinshan.blowWhistle(["guangchen-town"], at: t0 + 2 * minute) == "jinshan.s-3")
        #expect(jinshan.book.summonsOrder == ["s-1", "pinghu.s-1", "s-2", "jinshan.s-3"])
    }

    @Test func aDispatchToARemoteAssigneeGetsTheOwnersPrefix() throws {
        var jinshan = jinshanWorld()
        #expect(try jinshan.dispatch(to: "pinghu-public-security").headers[WorkflowHeader.id] == "jinshan.h-1")
        #expect(try jinshan.dispatch(to: "shanta-village-grid", at: t0 + minute).headers[WorkflowHeader.id] == "h-2")

        var pinghu = pinghuWorld()
        let pinghuDispatch = try pinghu.dispatch(to: "jinshan-public-security", from: guangchenTown)
        #expect(pinghuDispatch.headers[WorkflowHeader.id] == "pinghu.h-1")
        try jinshan.take(via("pinghu", pinghuDispatch)).get()
        #expect(try jinshan.handoff("pinghu.h-1").owner == "pinghu")
        #expect(try jinshan.dispatch(to: "shanta-village-grid", at: t0 + 2 * minute).headers[WorkflowHeader.id] == "h-3")
        #expect(jinshan.book.handoffOrder == ["jinshan.h-1", "h-2", "pinghu.h-1", "h-3"])
    }

    /// An open or dispatch sent straight to the inbox here of a party another broker serves would
    /// never reach it (its copy counts as written): refused, with where to send it instead.
    @Test func aCaseIsNotSentStraightToTheInboxHereOfARemoteParty() throws {
        let jinshan = jinshanWorld()
        let summons = jinshan.stamp(.summons, Body.openSummons(["guangchen-town", "jinshan-public-security"]), from: langxiaTown,
                                    to: WorkflowBook.inbox(of: guangchenTown), at: t0)
        #expect(summons.failure?.code == .invalidTransition && summons.failure?.message.contains("/topic/summons") == true, "\(summons)")
        let dispatch = jinshan.stamp(.handoff, Body.dispatch(to: "pinghu-public-security", due: t0 + hour), from: langxiaTown,
                                     to: WorkflowBook.inbox(of: pinghuPolice), at: t0)
        #expect(dispatch.failure?.code == .invalidTransition, "\(dispatch)")
        // Nor to a local party's inbox: the other broker would not know where to put it.
        let local = jinshan.stamp(.summons, Body.openSummons(["guangchen-town", "jinshan-public-security"]), from: langxiaTown,
                                  to: WorkflowBook.inbox(of: jinshanPolice), at: t0)
        #expect(local.failure?.code == .invalidTransition)
        // A case only this broker follows may still be sent straight to an inbox.
        let inside = jinshan.stamp(.summons, Body.openSummons(["jinshan-public-security"]), from: langxiaTown,
                                   to: WorkflowBook.inbox(of: jinshanPolice), at: t0)
        #expect(try inside.get().headers[WorkflowHeader.id] == "s-1")
    }

    @Test func aCaseOpenedInsideTheBrokerCannotTakeInARemoteParty() throws {
        var jinshan = jinshanWorld()
        _ = try jinshan.dispatch(to: "shanta-village-grid")  // h-1
        let transfer = jinshan.stamp(.handoff, Body.handoff("transfer", "h-1", #""to": "pinghu-public-security", "reason": "越界""#),
                                     from: shantaGrid, at: t0 + minute)
        #expect(transfer.failure?.code == .invalidTransition)
        // A local party may still be transferred to.
        let local = jinshan.stamp(.handoff, Body.handoff("transfer", "h-1", #""to": "jinshan-public-security", "reason": "治安""#),
                                  from: shantaGrid, at: t0 + minute)
        #expect(try local.get().headers[WorkflowHeader.assignee] == "jinshan/jinshan-public-security")
        // A qualified hand-off may go to a remote party.
        _ = try jinshan.dispatch(to: "jinshan-public-security", at: t0 + 2 * minute)  // h-2
        _ = try jinshan.dispatch(to: "pinghu-public-security", at: t0 + 3 * minute)  // jinshan.h-3
        let remote = jinshan.stamp(.handoff, Body.handoff("transfer", "jinshan.h-3", #""to": "guangchen-town", "reason": "属地""#),
                                   from: pinghuPolice, at: t0 + 4 * minute)
        #expect(try remote.get().headers[WorkflowHeader.assignee] == "pinghu/guangchen-town")

        let operation = try jinshan.send(.jointOperation, Body.openOperation(members: [("jinshan-public-security", "jinshan")]),
                                         from: langxiaTown, at: t0).get()
        #expect(operation.caseID == "op-1")
        let join = jinshan.stamp(.jointOperation, Body.join("op-1", party: "guangchen-town"), from: langxiaTown, at: t0 + minute)
        #expect(join.failure?.code == .invalidTransition)
        let crossBorder = try jinshan.send(.jointOperation, Body.openOperation(members: [("guangchen-town", "pinghu")]),
                                           from: langxiaTown, at: t0).get()
        #expect(crossBorder.caseID == "jinshan.op-2")
    }

    // MARK: The backdating bound

    /// jinshan.s-1 from langxia-town at t0 (deadline t0+30m), naming parties of Pinghu, Jiashan and Jinshan;
    /// Pinghu public security's report-in, made at t0+40m on Pinghu's broker, has arrived.
    private func summonsWithALatePinghuReport() throws -> (WorkflowWorld, String) {
        var jinshan = jinshanWorld(linked: ["pinghu", "jiashan"])
        let id = try jinshan.blowWhistle(["guangchen-town", "pinghu-public-security", "jiashan-town", "jinshan-public-security"])
        #expect(id == "jinshan.s-1")
        try jinshan.take(record(.reportIn, Body.reportIn(id), from: pinghuPolice, id: id, at: t0 + 40 * minute, via: "pinghu")).get()
        #expect(jinshan.book.latestTimeFrom == ["pinghu": t0 + 40 * minute])
        return (jinshan, id)
    }

    @Test func aRecordFromALinkedBrokerIsJudgedNoEarlierThanWhatThatBrokerAlreadySent() throws {
        var (jinshan, id) = try summonsWithALatePinghuReport()
        #expect(try jinshan.summons(id).party(pinghuPolice).reportedInAt == t0 + 40 * minute)

        // Pinghu's broker claims Guangchen town reported in at t0+10m, before the deadline: it had already told us t0+40m.
        try jinshan.take(record(.reportIn, Body.reportIn(id), from: guangchenTown, id: id, at: t0 + 10 * minute, via: "pinghu")).get()
        let summons = try jinshan.summons(id)
        let guangchen = try summons.party(guangchenTown)
        #expect(guangchen.reportedInAt == t0 + 40 * minute)
        #expect(guangchen.lateBy(deadline: summons.deadline) == 10 * minute)
        #expect(summons.timeline.last?.time == t0 + 40 * minute)
        #expect(summons.timeline.last?.text.hasPrefix("reported in, late by 10m") == true, "\(summons.timeline.last?.text ?? "")")
        #expect(jinshan.book.latestTimeFrom == ["pinghu": t0 + 40 * minute])
    }

    @Test func aRecordFromAnotherJurisdictionIsNotBoundedByPinghus() throws {
        var (jinshan, id) = try summonsWithALatePinghuReport()
        try jinshan.take(record(.reportIn, Body.reportIn(id), from: jiashanTown, id: id, at: t0 + 10 * minute, via: "jiashan")).get()
        let summons = try jinshan.summons(id)
        #expect(try summons.party(jiashanTown).reportedInAt == t0 + 10 * minute)
        #expect(try summons.party(jiashanTown).lateBy(deadline: summons.deadline) == nil)
        #expect(jinshan.book.latestTimeFrom == ["pinghu": t0 + 40 * minute, "jiashan": t0 + 10 * minute])
    }

    @Test func aRefusedRecordDoesNotMoveTheBound() throws {
        var (jinshan, id) = try summonsWithALatePinghuReport()
        // Pinghu public security reports in again at t0+50m: refused, and its time is not taken.
        let again = try jinshan.take(record(.reportIn, Body.reportIn(id), from: pinghuPolice, id: id, at: t0 + 50 * minute, via: "pinghu"))
        #expect(again.failure?.code == .invalidTransition)
        // So is a report-in to a summons this broker does not follow.
        let unknown = try jinshan.take(record(.reportIn, Body.reportIn("jinshan.s-9"), from: guangchenTown, id: "jinshan.s-9",
                                              at: t0 + 55 * minute, via: "pinghu"))
        #expect(unknown.failure?.code == .unknownWorkflow)
        #expect(jinshan.book.latestTimeFrom == ["pinghu": t0 + 40 * minute])

        try jinshan.take(record(.reportIn, Body.reportIn(id), from: guangchenTown, id: id, at: t0 + 10 * minute, via: "pinghu")).get()
        #expect(try jinshan.summons(id).party(guangchenTown).reportedInAt == t0 + 40 * minute, "bounded by the last record taken, not the refused ones")
    }

    @Test func aLocalMessageIsNeverBounded() throws {
        var (jinshan, id) = try summonsWithALatePinghuReport()
        try jinshan.send(.reportIn, Body.reportIn(id), from: jinshanPolice, at: t0 + 10 * minute).get()
        let summons = try jinshan.summons(id)
        #expect(try summons.party(jinshanPolice).reportedInAt == t0 + 10 * minute)
        #expect(try summons.party(jinshanPolice).lateBy(deadline: summons.deadline) == nil)
        #expect(jinshan.book.latestTimeFrom == ["pinghu": t0 + 40 * minute], "a local message moves no bound")
    }

    @Test func theBoundSurvivesARestart() throws {
        let (jinshan, id) = try summonsWithALatePinghuReport()
        var restored = jinshan
        restored.book = try JSONDecoder().decode(WorkflowBook.self, from: JSONEncoder().encode(jinshan.book))
        #expect(restored.book.latestTimeFrom == ["pinghu": t0 + 40 * minute])
        try restored.take(record(.reportIn, Body.reportIn(id), from: guangchenTown, id: id, at: t0 + 10 * minute, via: "pinghu")).get()
        #expect(try restored.summons(id).party(guangchenTown).reportedInAt == t0 + 40 * minute)

        // Replaying the log reaches the same bound.
        var replayed = WorkflowBook()
        for publication in jinshan.log { replayed.replay(publication) }
        #expect(replayed.latestTimeFrom == ["pinghu": t0 + 40 * minute])
    }

    // MARK: Origin time

    @Test func aReportInMadeBeforeTheDeadlineIsOnTimeThoughItArrivesAfterTheEscalation() throws {
        var jinshan = jinshanWorld()
        let open = try jinshan.open(["guangchen-town"])
        let id = try #require(open.headers[WorkflowHeader.id])
        var pinghu = pinghuWorld()
        try pinghu.take(via("jinshan", open)).get()

        let copies = jinshan.drive(to: t0)
        #expect(copies.map(\.owedSummary) == ["inbox-copy summons \(WorkflowHeader.crossBorderTransit) guangchen-town"])
        // Pinghu's broker reports the delivery, then the link is cut: its party's report-in at t0+20m waits.
        let receipt = try #require(pinghu.book.receipt(for: id, party: guangchenTown, marks: marks(delivered: t0 + minute, acked: t0 + 2 * minute),
                                                       now: t0 + 2 * minute, broker: pinghuBroker, directory: pinghu.directory))
        try pinghu.take(receipt).get()
        try jinshan.take(via("pinghu", receipt)).get()
        let reportIn = try pinghu.send(.reportIn, Body.reportIn(id), from: guangchenTown, at: t0 + 20 * minute).get().publication

        let escalated = jinshan.drive(to: t0 + 30 * minute)
        #expect(escalated.map(\.owedSummary) == [
            "escalation escalation /topic/escalation guangchen-town",
            "inbox-copy escalation /queue/inbox.langxia-town guangchen-town",
        ])
        #expect(try jinshan.summons(id).party(guangchenTown).escalatedAt == t0 + 30 * minute)

        // The link mends at t0+45m: the report-in is judged at the time it was made.
        try jinshan.take(via("pinghu", reportIn)).get()
        let summons = try jinshan.summons(id)
        let guangchen = try summons.party(guangchenTown)
        #expect(guangchen.reportedInAt == t0 + 20 * minute)
        #expect(guangchen.lateBy(deadline: summons.deadline) == nil)
        #expect(guangchen.escalatedAt == t0 + 30 * minute, "the escalation stands: it was right when it was made")
        #expect(summons.timeline.last?.text.hasPrefix("reported in, on time") == true, "\(summons.timeline.last?.text ?? "")")
        #expect(jinshan.book.latestTimeFrom == ["pinghu": t0 + 20 * minute])
        #expect(jinshan.owed(at: t0 + 2 * hour).isEmpty)
        // Both brokers agree.
        #expect(try pinghu.summons(id).party(guangchenTown).reportedInAt == t0 + 20 * minute)
    }

    // MARK: Timers: only the owner owes

    @Test func theOwnerAddressesWhatARemotePartyIsOwedToTheTransitTopic() throws {
        var jinshan = jinshanWorld()
        let id = try jinshan.blowWhistle(["guangchen-town", "jinshan-public-security", "pinghu-public-security"])
        let copies = jinshan.owed(at: t0)
        #expect(copies.map(\.owedSummary) == [
            "inbox-copy summons /topic/muster.workflow guangchen-town",
            "inbox-copy summons /queue/inbox.jinshan-public-security jinshan-public-security",
            "inbox-copy summons /topic/muster.workflow pinghu-public-security",
        ])
        #expect(copies.map { $0.headers[WorkflowHeader.recipient] } == ["pinghu/guangchen-town", nil, "pinghu/pinghu-public-security"])
        #expect(copies.allSatisfy { $0.headers[WorkflowHeader.id] == id })
        jinshan.drive(to: t0)
        #expect(try jinshan.summons(id).parties.allSatisfy(\.copied))

        // At the deadline: the escalation about Pinghu public security reaches its supervisor, Guangchen town, across the border.
        let escalations = jinshan.owed(at: t0 + 30 * minute)
        #expect(escalations.map(\.owedSummary) == [
            "escalation escalation /topic/escalation guangchen-town",
            "inbox-copy escalation /queue/inbox.langxia-town guangchen-town",
            "escalation escalation /topic/escalation jinshan-public-security",
            "inbox-copy escalation /queue/inbox.langxia-town jinshan-public-security",
            "inbox-copy escalation /queue/inbox.joint-command jinshan-public-security",
            "escalation escalation /topic/escalation pinghu-public-security",
            "inbox-copy escalation /queue/inbox.langxia-town pinghu-public-security",
            "inbox-copy escalation /topic/muster.workflow pinghu-public-security",
        ])
        #expect(escalations.last?.headers[WorkflowHeader.recipient] == "pinghu/guangchen-town")
        #expect(escalations.dropLast().allSatisfy { $0.headers[WorkflowHeader.recipient] == nil })
    }

    @Test func theOwnersCopyOfADispatchToARemoteAssigneeCrossesTheBorder() throws {
        var jinshan = jinshanWorld()
        _ = try jinshan.dispatch(to: "pinghu-public-security")
        let owed = jinshan.owed(at: t0)
        #expect(owed.map(\.owedSummary) == ["inbox-copy handoff /topic/muster.workflow pinghu-public-security"])
        #expect(owed.first?.headers[WorkflowHeader.recipient] == "pinghu/pinghu-public-security")
        #expect(owed.first?.headers[WorkflowHeader.assignee] == "pinghu/pinghu-public-security")
    }

    @Test func aBrokerThatDidNotOpenTheCaseOwesNothingForIt() throws {
        var jinshan = jinshanWorld()
        let open = try jinshan.open(["guangchen-town", "jinshan-public-security"])
        let dispatch = try jinshan.dispatch(to: "pinghu-public-security")
        var pinghu = pinghuWorld()
        try pinghu.take(via("jinshan", open)).get()
        try pinghu.take(via("jinshan", dispatch)).get()
        #expect(try pinghu.summons("jinshan.s-1").owner == "jinshan")
        #expect(try pinghu.handoff("jinshan.h-1").owner == "jinshan")
        #expect(try pinghu.summons("jinshan.s-1").parties.allSatisfy { !$0.copied }, "the owner writes the copies")

        #expect(pinghu.owed(at: t0).isEmpty)
        #expect(pinghu.owed(at: t0 + 30 * minute).isEmpty, "past the summons' deadline")
        #expect(pinghu.owed(at: t0 + 2 * hour).isEmpty, "past the hand-off's due time")
        #expect(pinghu.book.nextDeadline() == nil)
        // The owner, with the same cases, owes its copies.
        #expect(jinshan.owed(at: t0).count == 3)
    }

    // MARK: What crosses

    @Test func theOwnerSendsItsRecordsToEveryLinkedJurisdictionInTheCase() throws {
        var jinshan = jinshanWorld(linked: ["pinghu", "jiashan"])
        let open = try jinshan.open(["guangchen-town", "jinshan-public-security"])
        let directory = jinshan.directory
        #expect(jinshan.book.crossBorderTargets(of: open, directory: directory) == ["pinghu"], "not Jiashan: no party of it is named")

        let copies = jinshan.owed(at: t0)
        #expect(copies.map { jinshan.book.crossBorderTargets(of: $0, directory: directory) } == [["pinghu"], ["pinghu"]],
                "the remote party's copy goes to its broker, the local one too (for the record: both timelines say the same)")
        jinshan.drive(to: t0)
        let escalation = try #require(jinshan.owed(at: t0 + 30 * minute).first)
        #expect(escalation.destination == WorkflowBook.escalationTopic)
        #expect(jinshan.book.crossBorderTargets(of: escalation, directory: directory) == ["pinghu"])

        // A summons naming Pinghu's and Jiashan's parties goes to both.
        let both = try jinshan.open(["guangchen-town", "jiashan-town"], at: t0 + minute)
        #expect(both.headers[WorkflowHeader.id] == "jinshan.s-2")
        #expect(jinshan.book.crossBorderTargets(of: both, directory: directory) == ["jiashan", "pinghu"])

        // A case with an unqualified id goes nowhere.
        let local = try jinshan.open(["jinshan-public-security"], at: t0 + 2 * minute)
        #expect(local.headers[WorkflowHeader.id] == "s-3")
        #expect(jinshan.book.crossBorderTargets(of: local, directory: directory) == [])
    }

    @Test func theOtherBrokerSendsItsPartiesMessagesToTheOwnerOnlyAndNothingThatCameOverALink() throws {
        var jinshan = jinshanWorld()
        let open = try jinshan.open(["guangchen-town", "jinshan-public-security"])
        var pinghu = pinghuWorld()
        let imported = via("jinshan", open)
        try pinghu.take(imported).get()
        #expect(pinghu.book.crossBorderTargets(of: imported, directory: pinghu.directory) == [], "what came over a link does not go back")

        let reportIn = try pinghu.send(.reportIn, Body.reportIn("jinshan.s-1"), from: guangchenTown, at: t0 + minute).get().publication
        #expect(pinghu.book.crossBorderTargets(of: reportIn, directory: pinghu.directory) == ["jinshan"])

        // A transit record names its recipient: it goes to the recipient's broker when that is linked, else nowhere.
        var transit = record(.summons, Body.summonsProgress("jinshan.s-1"), from: pinghuBroker, id: "jinshan.s-1", at: t0, via: nil)
        transit.destination = WorkflowHeader.crossBorderTransit
        transit.headers[WorkflowHeader.event] = WorkflowEventKind.inboxCopy.rawValue
        transit.headers[WorkflowHeader.recipient] = "jinshan/jinshan-public-security"
        #expect(pinghu.book.crossBorderTargets(of: transit, directory: pinghu.directory) == ["jinshan"])
        transit.headers[WorkflowHeader.recipient] = "pinghu/guangchen-town"
        #expect(pinghu.book.crossBorderTargets(of: transit, directory: pinghu.directory) == [])
    }

    // MARK: What a linked broker may write

    @Test func onlyTheOwnerTimesACase() throws {
        var jinshan = jinshanWorld()
        let id = try jinshan.blowWhistle(["guangchen-town", "jinshan-public-security"])
        let copies = jinshan.drive(to: t0)
        let escalations = jinshan.owed(at: t0 + 30 * minute)
        let escalation = try #require(escalations.first)
        #expect(escalation.workflowEvent == "escalation")

        // On the owner: Pinghu's broker may not write an escalation or a copy for jinshan.s-1.
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(escalation), from: "pinghu", directory: jinshan.directory)?.code == .notAuthorized)
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(copies[0]), from: "pinghu", directory: jinshan.directory)?.code == .notAuthorized)

        // On Pinghu's broker: the owner's copy and escalation are taken, Jiashan's are not.
        var pinghu = pinghuWorld()
        try pinghu.take(via("jinshan", try #require(jinshan.log.first))).get()
        #expect(pinghu.book.refusalOfBrokerRecord(try workflowMessage(copies[0]), from: "jinshan", directory: pinghu.directory) == nil)
        #expect(pinghu.book.refusalOfBrokerRecord(try workflowMessage(escalation), from: "jinshan", directory: pinghu.directory) == nil)
        #expect(pinghu.book.refusalOfBrokerRecord(try workflowMessage(escalation), from: "jiashan", directory: pinghu.directory)?.code == .notAuthorized)
        try pinghu.take(via("jinshan", escalation)).get()
        #expect(try pinghu.summons(id).party(guangchenTown).escalatedAt == t0 + 30 * minute)

        // A record for a case this broker does not follow.
        let stray = record(.summons, Body.summonsProgress("jinshan.s-9"), from: jinshanBroker, id: "jinshan.s-9", at: t0, via: "jinshan")
        var strayCopy = stray
        strayCopy.headers[WorkflowHeader.event] = WorkflowEventKind.inboxCopy.rawValue
        #expect(pinghu.book.refusalOfBrokerRecord(try workflowMessage(strayCopy), from: "jinshan", directory: pinghu.directory)?.code == .unknownWorkflow)
    }

    @Test func onlyThePartysBrokerReportsItsReceiptAndABrokerWritesOnlyItsOwnRecords() throws {
        var jinshan = jinshanWorld()
        let open = try jinshan.open(["guangchen-town", "jinshan-public-security"])
        let id = try #require(open.headers[WorkflowHeader.id])
        var pinghu = pinghuWorld()
        try pinghu.take(via("jinshan", open)).get()

        let guangchenReceipt = try #require(pinghu.book.receipt(for: id, party: guangchenTown, marks: marks(delivered: t0 + minute, acked: nil),
                                                                now: t0 + minute, broker: pinghuBroker, directory: pinghu.directory))
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(guangchenReceipt), from: "pinghu", directory: jinshan.directory) == nil)

        // Pinghu's broker reporting for Jinshan public security (a receipt it could not have seen).
        var forged = guangchenReceipt
        forged.headers[WorkflowHeader.party] = jinshanPolice.description
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(forged), from: "pinghu", directory: jinshan.directory)?.code == .notAuthorized)
        // Jiashan's broker reporting for Pinghu's party.
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(guangchenReceipt), from: "jiashan", directory: jinshan.directory)?.code == .notAuthorized)
        // Pinghu's broker reporting for one of its parties that has no copy of the case.
        var stranger = guangchenReceipt
        stranger.headers[WorkflowHeader.party] = pinghuPolice.description
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(stranger), from: "pinghu", directory: jinshan.directory)?.code == .notAuthorized)

        // A party's message is not a broker's record.
        let reportIn = record(.reportIn, Body.reportIn(id), from: guangchenTown, id: id, at: t0 + minute, via: "pinghu")
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(reportIn), from: "pinghu", directory: jinshan.directory)?.code == .notAuthorized)
    }

    @Test func aLinkedBrokerOpensCasesOnlyUnderItsOwnPrefix() throws {
        var jinshan = jinshanWorld()
        _ = try jinshan.blowWhistle(["guangchen-town"])  // jinshan.s-1
        var pinghu = pinghuWorld()
        let pinghuOpen = try pinghu.open(["jinshan-public-security"], from: guangchenTown)
        #expect(pinghuOpen.headers[WorkflowHeader.id] == "pinghu.s-1")

        #expect(jinshan.book.refusalOfImport(try workflowMessage(via("pinghu", pinghuOpen)), directory: jinshan.directory) == nil)
        for foreign in ["jinshan.s-9", "jiashan.s-1"] {
            var renamed = pinghuOpen
            renamed.headers[WorkflowHeader.id] = foreign
            #expect(jinshan.book.refusalOfImport(try workflowMessage(via("pinghu", renamed)), directory: jinshan.directory)?.code == .notAuthorized, "\(foreign)")
        }
        // An unqualified id is no case two brokers follow.
        var unqualified = pinghuOpen
        unqualified.headers[WorkflowHeader.id] = "s-1"
        #expect(jinshan.book.refusalOfImport(try workflowMessage(via("pinghu", unqualified)), directory: jinshan.directory)?.code == .notAuthorized)
        let localReportIn = record(.reportIn, Body.reportIn("s-1"), from: guangchenTown, id: "s-1", at: t0 + minute, via: "pinghu")
        #expect(jinshan.book.refusalOfImport(try workflowMessage(localReportIn), directory: jinshan.directory)?.code == .notAuthorized)
        // A message for a case this broker opened is taken, whatever its prefix.
        let reportIn = record(.reportIn, Body.reportIn("jinshan.s-1"), from: guangchenTown, id: "jinshan.s-1", at: t0 + minute, via: "pinghu")
        #expect(jinshan.book.refusalOfImport(try workflowMessage(reportIn), directory: jinshan.directory) == nil)
        // Without `muster-via` no link brought it.
        #expect(jinshan.book.refusalOfImport(try workflowMessage(pinghuOpen), directory: jinshan.directory)?.code == .notAuthorized)
    }

    // MARK: Receipts

    @Test func theBrokerServingAPartyReportsItsReceiptOnce() throws {
        var jinshan = jinshanWorld()
        let open = try jinshan.open(["guangchen-town", "jinshan-public-security"])
        let id = try #require(open.headers[WorkflowHeader.id])
        var pinghu = pinghuWorld()
        try pinghu.take(via("jinshan", open)).get()

        let delivered = marks(delivered: t0 + minute, acked: t0 + 3 * minute)
        let receipt = try #require(pinghu.book.receipt(for: id, party: guangchenTown, marks: delivered, now: t0 + 4 * minute,
                                                       broker: pinghuBroker, directory: pinghu.directory))
        #expect(receipt.destination == WorkflowHeader.crossBorderTransit)
        #expect(receipt.sender == pinghuBroker)
        #expect(receipt.headers[ReservedHeader.type] == "summons")
        #expect(receipt.headers[WorkflowHeader.event] == WorkflowEventKind.receipt.rawValue)
        #expect(receipt.headers[WorkflowHeader.id] == id)
        #expect(receipt.headers[WorkflowHeader.party] == "pinghu/guangchen-town")
        #expect(receipt.headers[WorkflowHeader.time] == String(t0 + 4 * minute))
        #expect(receipt.headers[WorkflowHeader.deliveredAt] == String(t0 + minute))
        #expect(receipt.headers[WorkflowHeader.ackedAt] == String(t0 + 3 * minute))
        #expect(receipt.headers[WorkflowHeader.recipient] == nil)
        #expect(pinghu.book.crossBorderTargets(of: receipt, directory: pinghu.directory) == ["jinshan"])

        // Nothing to report: no marks, or a party Pinghu's broker does not serve, or a case it does not follow.
        #expect(pinghu.book.receipt(for: id, party: guangchenTown, marks: marks(delivered: nil, acked: nil), now: t0 + 4 * minute,
                                    broker: pinghuBroker, directory: pinghu.directory) == nil)
        #expect(pinghu.book.receipt(for: id, party: jinshanPolice, marks: delivered, now: t0 + 4 * minute,
                                    broker: pinghuBroker, directory: pinghu.directory) == nil)
        #expect(pinghu.book.receipt(for: "jinshan.s-9", party: guangchenTown, marks: delivered, now: t0 + 4 * minute,
                                    broker: pinghuBroker, directory: pinghu.directory) == nil)

        try pinghu.take(receipt).get()
        #expect(try pinghu.summons(id).party(guangchenTown).receipt == delivered)
        #expect(pinghu.book.receipt(for: id, party: guangchenTown, marks: delivered, now: t0 + 5 * minute,
                                    broker: pinghuBroker, directory: pinghu.directory) == nil, "the case already holds these marks")
        // The owner takes it too.
        try jinshan.take(via("pinghu", receipt)).get()
        #expect(try jinshan.summons(id).party(guangchenTown).receipt == delivered)
        #expect(try jinshan.summons(id).party(jinshanPolice).receipt == nil)

        // A later acknowledgement alone changes the marks: reported again, without a delivered time.
        let ackedOnly = marks(delivered: nil, acked: t0 + 6 * minute)
        let second = try #require(pinghu.book.receipt(for: id, party: guangchenTown, marks: ackedOnly, now: t0 + 6 * minute,
                                                      broker: pinghuBroker, directory: pinghu.directory))
        #expect(second.headers[WorkflowHeader.deliveredAt] == nil)
        #expect(second.headers[WorkflowHeader.ackedAt] == String(t0 + 6 * minute))
    }

    @Test func anAssigneesReceiptIsRecordedOnItsLeg() throws {
        var jinshan = jinshanWorld()
        let dispatch = try jinshan.dispatch(to: "pinghu-public-security")
        let id = try #require(dispatch.headers[WorkflowHeader.id])
        var pinghu = pinghuWorld()
        try pinghu.take(via("jinshan", dispatch)).get()
        let delivered = marks(delivered: t0 + minute, acked: nil)
        let receipt = try #require(pinghu.book.receipt(for: id, party: pinghuPolice, marks: delivered, now: t0 + 2 * minute,
                                                       broker: pinghuBroker, directory: pinghu.directory))
        #expect(receipt.headers[ReservedHeader.type] == "handoff")
        #expect(receipt.headers[WorkflowHeader.ackedAt] == nil)
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(via("pinghu", receipt)), from: "pinghu", directory: jinshan.directory) == nil)
        try jinshan.take(via("pinghu", receipt)).get()
        #expect(try jinshan.handoff(id).legs.last?.receipt == delivered)
        // The owner does not report for a party another broker serves.
        #expect(jinshan.book.receipt(for: id, party: pinghuPolice, marks: marks(delivered: t0 + minute, acked: t0 + 2 * minute),
                                     now: t0 + 3 * minute, broker: jinshanBroker, directory: jinshan.directory) == nil)
    }

    // MARK: Delivery marks

    @Test func deliveriesOfCopiesOfCrossBorderCasesAreTakenOnceAsChanged() throws {
        var deliveries = InboxDeliveries()
        func copy(_ id: String, to party: PartyIdentity, offset: UInt64) -> StoredMessage {
            var headers = StompHeaders()
            headers[ReservedHeader.type] = WorkflowType.summons.rawValue
            headers[WorkflowHeader.event] = WorkflowEventKind.inboxCopy.rawValue
            headers[WorkflowHeader.id] = id
            headers[WorkflowHeader.party] = party.description
            return stored(offset, to: inbox(party), headers: headers, sender: pinghuBroker)
        }
        func event(_ kind: LedgerEvent.Kind, offset: UInt64, to party: PartyIdentity, deliveredAt: Int64, at: Int64) -> LedgerEvent {
            LedgerEvent(kind: kind, consumer: .queue(inbox(party)), generation: 0, destination: inbox(party), offset: offset,
                        party: party, subscriptionID: "0", deliveryCount: 1, deliveredAt: deliveredAt, at: at)
        }
        deliveries.noteStored(copy("jinshan.s-1", to: guangchenTown, offset: 4))
        deliveries.noteStored(copy("s-2", to: pinghuPolice, offset: 5))

        let local = deliveries.note([event(.delivered, offset: 5, to: pinghuPolice, deliveredAt: t0, at: t0)])
        #expect(!local, "s-2 is followed here only")
        let none = deliveries.takeChanged()
        #expect(none.isEmpty)
        let first = deliveries.note([event(.delivered, offset: 4, to: guangchenTown, deliveredAt: t0 + minute, at: t0 + minute)])
        #expect(first)
        let redelivered = deliveries.note([event(.delivered, offset: 4, to: guangchenTown, deliveredAt: t0 + 2 * minute, at: t0 + 2 * minute)])
        #expect(!redelivered, "a redelivery does not move the first delivery")
        let changed = deliveries.takeChanged()
        let takenAgain = deliveries.takeChanged()
        #expect(changed.map(\.0) == [InboxDeliveries.CopyKey(id: "jinshan.s-1", party: guangchenTown)])
        #expect(changed.map(\.1) == [marks(delivered: t0 + minute, acked: nil)])
        #expect(takenAgain.isEmpty, "taken once")

        let acked = deliveries.note([event(.acked, offset: 4, to: guangchenTown, deliveredAt: t0 + 2 * minute, at: t0 + 3 * minute)])
        #expect(acked)
        let afterAck = deliveries.takeChanged()
        #expect(afterAck.map(\.1) == [marks(delivered: t0 + minute, acked: t0 + 3 * minute)])
        // What is seen here beats what a receipt reported; without a copy here the receipt is all there is.
        let reported = marks(delivered: t0, acked: t0)
        #expect(deliveries.marks(of: "jinshan.s-1", party: guangchenTown, reported: reported) == marks(delivered: t0 + minute, acked: t0 + 3 * minute))
        #expect(deliveries.marks(of: "jinshan.s-1", party: jinshanPolice, reported: reported) == reported)
    }

    // MARK: The desk

    @Test func theDeskTakesImportedRecordsAndReportsItsPartysReceipt() throws {
        let clock = ManualClock(t0)
        let directory = borderDirectory(here: "pinghu", linked: ["jinshan"])
        let exported = Mutex<[(Publication, [String])]>([])
        let desk = WorkflowDesk(identity: pinghuBroker, clock: { clock.now }, directory: { directory },
                                exportStamp: { publication, targets, _ in
                                    exported.withLock { $0.append((publication, targets)) }
                                    return publication
                                })
        let log = Mutex<[StoredMessage]>([])
        let store: WorkflowHandling.Store = { publication, completion in
            let message = log.withLock { log in
                let message = StoredMessage(offset: UInt64(log.count), timestamp: t0, publication: publication)
                log.append(message)
                return message
            }
            completion(.success(message))
        }

        var jinshan = jinshanWorld()
        let open = try jinshan.open(["guangchen-town"])
        let id = try #require(open.headers[WorkflowHeader.id])
        #expect(desk.takeImported(via("jinshan", open), fromBroker: nil, store: store, completion: { _ in }) == nil)
        #expect(log.withLock { $0.count } == 1, "nothing is owed here for a case Jinshan's broker owns")
        #expect(desk.read { book, _ in book.summonses[id]?.owner } == "jinshan")

        // A copy only the owner may write, from Jiashan: refused, nothing stored.
        let copies = jinshan.drive(to: t0)
        var copy = via("jinshan", try #require(copies.first))
        copy.destination = inbox(guangchenTown)  // where Pinghu's link stores it
        #expect(desk.takeImported(copy, fromBroker: "jiashan", store: store, completion: { _ in })?.code == .notAuthorized)
        #expect(desk.takeImported(via("jinshan", open), fromBroker: nil, store: store, completion: { _ in })?.code == .invalidTransition,
                "an open taken twice is refused by the book")
        #expect(log.withLock { $0.count } == 1)

        #expect(desk.takeImported(copy, fromBroker: "jinshan", store: store, completion: { _ in }) == nil)
        let copyOffset = try #require(log.withLock { $0.last?.offset })
        #expect(desk.read { book, _ in book.summonses[id]?.parties.first?.copied } == true)

        // Guangchen town's adapter gets and acknowledges the copy: the desk writes the receipt for the owner.
        clock.advance(by: 2 * minute)
        desk.observe([LedgerEvent(kind: .acked, consumer: .queue(inbox(guangchenTown)), generation: 0, destination: inbox(guangchenTown),
                                  offset: copyOffset, party: guangchenTown, subscriptionID: "0", deliveryCount: 1,
                                  deliveredAt: t0 + minute, at: t0 + 2 * minute)])
        desk.runTimers(store: store)
        let receipt = try #require(log.withLock { $0.last?.publication })
        #expect(receipt.workflowEvent == WorkflowEventKind.receipt.rawValue)
        #expect(receipt.headers[WorkflowHeader.deliveredAt] == String(t0 + minute))
        #expect(receipt.headers[WorkflowHeader.ackedAt] == String(t0 + 2 * minute))
        #expect(exported.withLock { $0.last?.1 } == ["jinshan"])
        #expect(desk.read { book, _ in book.summonses[id]?.parties.first?.receipt } == marks(delivered: t0 + minute, acked: t0 + 2 * minute))
        let stored = log.withLock { $0.count }
        desk.runTimers(store: store)
        #expect(log.withLock { $0.count } == stored, "a receipt is written once")

        // A party's message of a case only its origin follows (an import rule brought it) is
        // stored as before, and not run: a Jinshan op-1 notice leaves Pinghu's own op-1 alone.
        let notice = record(.jointOperation, #"{"action": "notice", "operationId": "op-1", "text": "local to Jinshan"}"#, from: langxiaTown,
                            id: "op-1", at: t0 + 3 * minute, via: "jinshan")
        #expect(desk.takeImported(notice, fromBroker: nil, store: store, completion: { _ in }) == nil)
        #expect(log.withLock { $0.count } == stored + 1 && log.withLock { $0.last?.publication.headers[WorkflowHeader.id] } == "op-1")
        #expect(desk.read { book, _ in book.operations.isEmpty && book.latestTimeFrom["jinshan"] == t0 })
        // The same written by Jinshan's broker itself is refused: a broker writes only for cases both follow.
        var written = notice
        written.headers[WorkflowHeader.event] = WorkflowEventKind.inboxCopy.rawValue
        #expect(desk.takeImported(written, fromBroker: "jinshan", store: store, completion: { _ in }) != nil)
    }

    // MARK: What a linked broker may not do (review findings)

    /// A copy or reminder is for the party it is about; an escalation's copy for the summoner or
    /// that party's supervisor; nothing for a party outside the case.
    @Test func aLinkedBrokerWritesOnlyForThePartiesOfItsCase() throws {
        var pinghu = pinghuWorld()
        let open = try pinghu.open(["jinshan-public-security", "pinghu-public-security"], from: guangchenTown)
        let id = try #require(open.headers[WorkflowHeader.id])
        var jinshan = jinshanWorld()
        try jinshan.take(via("pinghu", open)).get()
        let owed = pinghu.owed(at: t0)
        let police = try #require(owed.first { $0.headers[WorkflowHeader.recipient] == jinshanPolice.description })
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(via("pinghu", police)), from: "pinghu", directory: jinshan.directory) == nil)

        var elsewhere = via("pinghu", police)
        elsewhere.headers[WorkflowHeader.recipient] = shantaGrid.description  // about the police, into the grid's inbox
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(elsewhere), from: "pinghu", directory: jinshan.directory)?.code == .notAuthorized)
        var stranger = via("pinghu", police)
        stranger.headers[WorkflowHeader.party] = shantaGrid.description
        stranger.headers[WorkflowHeader.recipient] = shantaGrid.description  // a party the case does not name
        #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(stranger), from: "pinghu", directory: jinshan.directory)?.code == .notAuthorized)

        // At the deadline: the escalation about the police crosses to its supervisor here, the joint command, and nowhere else.
        let escalations = pinghu.owed(at: t0 + 31 * minute).filter { $0.headers[ReservedHeader.type] == "escalation" && $0.headers[WorkflowHeader.recipient] != nil }
        #expect(escalations.compactMap { $0.headers[WorkflowHeader.recipient] } == [jointCommand.description])
        for escalation in escalations {
            #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(via("pinghu", escalation)), from: "pinghu", directory: jinshan.directory) == nil)
            var misaddressed = via("pinghu", escalation)
            misaddressed.headers[WorkflowHeader.recipient] = shantaGrid.description
            #expect(jinshan.book.refusalOfBrokerRecord(try workflowMessage(misaddressed), from: "pinghu", directory: jinshan.directory)?.code == .notAuthorized)
        }
    }

    /// A linked broker's new case must name a party here, and carry exactly its own jurisdiction
    /// before the case number (a jurisdiction `a` cannot open `a.b.s-1` for `a.b`).
    @Test func aLinkedBrokersCaseNamesAPartyHereUnderItsOwnExactPrefix() throws {
        let jinshan = jinshanWorld()
        var pinghu = WorkflowWorld(directory: borderDirectory(here: "pinghu", linked: ["jinshan", "jiashan"]))
        let ownOnly = try pinghu.open(["jiashan-town"], from: guangchenTown)
        #expect(ownOnly.headers[WorkflowHeader.id] == "pinghu.s-1")
        #expect(jinshan.book.refusalOfImport(try workflowMessage(via("pinghu", ownOnly)), directory: jinshan.directory)?.code == .notAuthorized,
                "names no party of Jinshan")
        var squatting = via("pinghu", try pinghu.open(["jinshan-public-security"], from: guangchenTown, at: t0 + minute))
        squatting.headers[WorkflowHeader.id] = "pinghu.x.s-1"
        #expect(jinshan.book.refusalOfImport(try workflowMessage(squatting), directory: jinshan.directory)?.code == .notAuthorized)
        #expect(WorkflowBook.isCrossBorder("jinshan.s-1") && WorkflowBook.isCrossBorder("a.b.op-12"))
        #expect(!WorkflowBook.isCrossBorder("s-1") && !WorkflowBook.isCrossBorder("jinshan.x-1") && !WorkflowBook.isCrossBorder("jinshan.s-0")
                && !WorkflowBook.isCrossBorder("jinshan.s-one"))
    }

    /// A cross-border hand-off cannot be passed to a party of a third jurisdiction, whose broker never saw it.
    @Test func aCaseCannotTakeInAThirdJurisdiction() throws {
        var jinshan = jinshanWorld(linked: ["pinghu", "jiashan"])
        _ = try jinshan.dispatch(to: "pinghu-public-security")  // jinshan.h-1
        let third = jinshan.stamp(.handoff, Body.handoff("transfer", "jinshan.h-1", #""to": "jiashan-town", "reason": "跨省""#), from: pinghuPolice, at: t0 + minute)
        #expect(third.failure?.code == .invalidTransition && third.failure?.message.contains("jiashan") == true, "\(third)")
        let back = jinshan.stamp(.handoff, Body.handoff("transfer", "jinshan.h-1", #""to": "guangchen-town", "reason": "属地""#), from: pinghuPolice, at: t0 + minute)
        #expect(back.failure == nil, "within the jurisdictions it names: \(back)")
    }

    /// No record is judged later than it arrived (a clock ahead moves no bound), and each lane of
    /// the link bounds only its own records (the lanes are not ordered with each other).
    @Test func theBoundIsKeptPerLaneAndNoTimeIsLaterThanItsArrival() throws {
        var jinshan = jinshanWorld()
        let id = try jinshan.blowWhistle(["guangchen-town", "pinghu-public-security"])
        var ahead = record(.reportIn, Body.reportIn(id), from: pinghuPolice, id: id, at: t0 + 5 * hour, via: "pinghu")
        ahead.headers[WorkflowHeader.receivedAt] = String(t0 + 10 * minute)
        try jinshan.take(ahead).get()
        #expect(try jinshan.summons(id).parties[1].reportedInAt == t0 + 10 * minute)
        #expect(jinshan.book.latestTimeFrom == ["pinghu": t0 + 10 * minute])
        var urgent = record(.reportIn, Body.reportIn(id), from: guangchenTown, id: id, at: t0 + 5 * minute, via: "pinghu")
        urgent.headers[FederationHeader.lane] = LinkLane.urgent.rawValue
        try jinshan.take(urgent).get()
        #expect(try jinshan.summons(id).parties[0].reportedInAt == t0 + 5 * minute, "the bulk lane's later time does not bound the urgent lane")
        #expect(jinshan.book.latestTimeFrom == ["pinghu": t0 + 10 * minute, "pinghu (urgent lane)": t0 + 5 * minute])
    }

    /// A desk of one broker whose records are kept in `log`, with each export's type and lane type in `lanes`.
    private final class DeskRig: Sendable {
        let log = Mutex<[StoredMessage]>([])
        let lanes = Mutex<[(String?, String?)]>([])
        let clock = ManualClock(t0)
        private let box = Mutex<WorkflowDesk?>(nil)
        var desk: WorkflowDesk { box.withLock { $0! } }

        init(here: String, linked: Set<String>, broker: PartyIdentity, inboxCheck: @escaping @Sendable (Publication) -> PolicyRefusal? = { _ in nil }) {
            let directory = borderDirectory(here: here, linked: linked)
            let clock = clock
            let desk = WorkflowDesk(identity: broker, clock: { clock.now }, directory: { directory }, inboxCheck: inboxCheck,
                                    exportStamp: { [unowned self] publication, _, lane in
                                        lanes.withLock { $0.append((publication.headers[ReservedHeader.type], lane)) }
                                        return publication
                                    })
            box.withLock { $0 = desk }
        }

        var store: WorkflowHandling.Store {
            { [self] publication, completion in
                let message = log.withLock { log in
                    let message = StoredMessage(offset: UInt64(log.count), timestamp: clock.now, publication: publication)
                    log.append(message)
                    return message
                }
                completion(.success(message))
            }
        }
    }

    /// A step the other broker decided is judged again by the admission lists of the inboxes it
    /// puts copies in here: refused whole, nothing stored, the case not opened.
    @Test func anImportedCaseIsRefusedWhenAnInboxHereWillNotAdmitIt() throws {
        let rig = DeskRig(here: "pinghu", linked: ["jinshan"], broker: pinghuBroker, inboxCheck: { copy in
            guard copy.destination == inbox(guangchenTown) else { return nil }
            return PolicyRefusal(BrokerError(.notAdmitted, "summons is not on guangchen-town's admission list"), rule: "topics[7]",
                                 party: copy.sender, destination: copy.destination, type: copy.headers[ReservedHeader.type])
        })
        let (desk, store) = (rig.desk, rig.store)
        var jinshan = jinshanWorld()
        let open = try jinshan.open(["guangchen-town", "jinshan-public-security"])
        let taken = desk.takeImported(via("jinshan", open), fromBroker: nil, store: store, completion: { _ in })
        let refusal = try #require(taken)
        #expect(refusal.code == .notAdmitted && refusal.message.contains("topics[7]"), "\(refusal)")
        #expect(rig.log.withLock { $0.isEmpty } && desk.read { book, _ in book.summonses.isEmpty })
        // A dispatch to Pinghu's police is admitted (its inbox has no list here).
        let dispatch = try jinshan.dispatch(to: "pinghu-public-security", at: t0 + minute)
        #expect(desk.takeImported(via("jinshan", dispatch), fromBroker: nil, store: store, completion: { _ in }) == nil)
    }

    /// Every record of a case goes in its case's lane: a summons's evaluation as a summons, a
    /// hand-off's escalation as a hand-off (their own types would pick other lanes).
    @Test func theOwnerStampsEveryRecordInItsCasesLane() throws {
        let rig = DeskRig(here: "jinshan", linked: ["pinghu"], broker: jinshanBroker)
        let (desk, store, clock) = (rig.desk, rig.store, rig.clock)
        func submit(_ type: WorkflowType, _ body: String, from sender: PartyIdentity, to destination: Destination) throws {
            let outcome = Mutex<Result<StoredMessage, BrokerError>?>(nil)
            desk.submit(workflowPublication(type, body, from: sender, to: destination), store: store) { result in outcome.withLock { $0 = result } }
            _ = try #require(outcome.withLock { $0 }).get()
        }
        try submit(.summons, Body.openSummons(["pinghu-public-security"]), from: langxiaTown, to: Destination(kind: .topic, name: "summons"))
        try submit(.summons, #"{"action": "close", "summonsId": "jinshan.s-1", "resolution": "done"}"#, from: langxiaTown,
                   to: Destination(kind: .topic, name: "summons"))
        try submit(.evaluation, #"{"summonsId": "jinshan.s-1", "party": "pinghu-public-security", "score": 4}"#, from: langxiaTown,
                   to: Destination(kind: .topic, name: "evaluation"))
        try submit(.handoff, Body.dispatch(to: "pinghu-public-security", due: t0 + hour), from: langxiaTown, to: Destination(kind: .topic, name: "handoff"))
        clock.advance(by: 2 * hour)
        desk.runTimers(store: store)
        let stamped = rig.lanes.withLock { $0 }
        #expect(stamped.contains { $0.0 == "evaluation" && $0.1 == "summons" }, "\(stamped)")
        #expect(stamped.contains { $0.0 == "escalation" && $0.1 == "handoff" }, "\(stamped)")
        #expect(stamped.allSatisfy { $0.1 != nil }, "\(stamped)")
    }

    /// A report-in Pinghu's broker took while the summons was open there, held back by a cut
    /// until after the owner closed it, counts as it was made; one made after the close does not.
    @Test func aReportInMadeBeforeTheCloseCountsThoughItArrivesAfterIt() throws {
        var jinshan = jinshanWorld()
        let id = try jinshan.blowWhistle(["guangchen-town", "pinghu-public-security"])
        try jinshan.send(.summons, #"{"action": "close", "summonsId": "\#(id)", "resolution": "handled"}"#, from: langxiaTown, at: t0 + 15 * minute).get()
        try jinshan.take(record(.reportIn, Body.reportIn(id), from: guangchenTown, id: id, at: t0 + 10 * minute, via: "pinghu")).get()
        #expect(try jinshan.summons(id).parties[0].reportedInAt == t0 + 10 * minute)
        #expect(try jinshan.summons(id).state == "closed")
        let after = try jinshan.take(record(.reportIn, Body.reportIn(id), from: pinghuPolice, id: id, at: t0 + 20 * minute, via: "pinghu"))
        #expect(after.failure?.code == .invalidTransition, "made after the close")
        #expect(try jinshan.summons(id).parties[1].reportedInAt == nil)
    }
}
