import Foundation
import MusterBroker
import MusterClient
import MusterNet
import MusterServer
import MusterStomp
import MusterTestSupport
import Testing
@testable import MusterProtocol
@testable import MusterWorkflow

/// Summonses (吹哨报到) and hand-offs (派单) through a real `muster serve` process over mutual
/// TLS, with the shipped topics file, several parties' certificates and both jurisdictions:
/// what the parties see in their inboxes, what the broker refuses, what it writes by itself
/// when a deadline passes, what the workflow queries answer, and that all of it is a function
/// of the log (a restart, an offline assessment).
@Suite("workflows end to end", .serialized)
struct WorkflowEndToEndTests {
    // MARK: The tests

    /// 1. A whole summons: inbox copies acknowledged, report-ins, the summons table, close by
    /// the summoner only, evaluations, nothing more once closed.
    @Test func aWholeSummonsFromWhistleToEvaluation() async throws {
        try await withBroker(topics: BrokerProcess.shippedTopics) { broker in
            let police = try await broker.connect(Self.police)
            let guangchen = try await broker.connect(Self.guangchen, jurisdiction: "pinghu")
            let policeInbox = try await police.subscribe(to: Self.inbox(Self.police), ack: .clientIndividual)
            let guangchenInbox = try await guangchen.subscribe(to: Self.inbox(Self.guangchen), ack: .clientIndividual)
            let town = try await broker.connect(Self.town)

            let sentAt = Self.now()
            let receipt = try await Self.send(town, "summons", to: "/topic/summons",
                                              Self.open(summoning: [Self.police, Self.guangchen], deadline: "PT30M", reminders: ["PT10M"]))
            let receivedAt = Self.now()
            let id = try #require(receipt[WorkflowHeader.id], "the RECEIPT names the summons id: \(receipt)")
            #expect(id == "s-1")

            // Both adapters get their copy in their inbox, and acknowledge it.
            var deadlines: [Int64] = []
            for (connection, inbox, party) in [(police, policeInbox, "jinshan/\(Self.police)"), (guangchen, guangchenInbox, "pinghu/\(Self.guangchen)")] {
                let copy = try #require(try await inbox.take(1).first)
                #expect(copy.headers["muster-type"] == "summons")
                #expect(copy.headers[WorkflowHeader.event] == "inbox-copy")
                #expect(copy.headers[WorkflowHeader.id] == id)
                #expect(copy.headers[WorkflowHeader.party] == party)
                #expect(copy.bodyText.contains(Self.title), "the copy carries the summons as sent: \(copy.bodyText)")
                let deadline = try #require(copy.headers[WorkflowHeader.deadline].flatMap(WorkflowTime.milliseconds(rfc3339:)),
                                            "the copy names the deadline: \(copy.headers)")
                #expect(deadline >= sentAt + 30 * 60_000 && deadline <= receivedAt + 30 * 60_000,
                        "PT30M counts from when the broker accepted the summons: \(deadline - sentAt) ms after sending")
                deadlines.append(deadline)
                try await connection.ack(copy, receipt: true)
            }
            #expect(deadlines.count == 2 && deadlines[0] == deadlines[1])

            // Both report in; the receipt names the summons.
            let report = try await Self.send(police, "report-in", to: "/topic/report-in",
                                             Self.reportIn(id, people: ["Officer Zhang", "Officer Li"], eta: "PT10M"))
            #expect(report[WorkflowHeader.id] == id)
            try await Self.send(guangchen, "report-in", to: "/topic/report-in", Self.reportIn(id, people: ["Deputy mayor Shen"], eta: "PT15M"))

            // A report-in cannot be repeated.
            await expectRefusal("invalid-transition", containing: ["s-1", "is open", "already reported in"]) {
                try await Self.send(try await broker.connect(Self.police), "report-in", to: "/topic/report-in",
                                    Self.reportIn(id, people: ["Officer Wang"], eta: "PT5M"))
            }
            // Evaluations wait for the close.
            await expectRefusal("invalid-transition", containing: ["s-1", "is open"]) {
                try await Self.send(try await broker.connect(Self.town), "evaluation", to: "/topic/evaluation",
                                    ["summonsId": id, "party": Self.police, "score": 5])
            }

            let view = try await Self.summons(town, id)
            #expect(view.id == id)
            #expect(view.state == "open")
            #expect(view.summoner == "jinshan/\(Self.town)")
            #expect(view.deadline == deadlines.first)
            #expect(view.parties.map(\.party) == [Self.police, Self.guangchen])
            for party in view.parties {
                #expect(party.status == "on time", "\(party.party): \(party)")
                #expect(party.deliveredAt != nil, "\(party.party): the inbox copy's delivery is shown")
                #expect(party.ackedAt != nil, "\(party.party): the inbox copy's acknowledgement is shown")
                if let delivered = party.deliveredAt, let acked = party.ackedAt {
                    #expect(delivered >= view.openedAt && acked >= delivered, "\(party.party): opened \(view.openedAt), delivered \(delivered), acked \(acked)")
                }
                #expect(party.reportedInAt != nil)
                #expect(party.lateByMilliseconds == nil)
                #expect(party.escalatedAt == nil)
            }
            #expect(try Self.party(view, Self.police).people == 2)
            #expect(try Self.party(view, Self.guangchen).jurisdiction == "pinghu")
            if let reported = try Self.party(view, Self.police).reportedInAt {
                #expect(try Self.party(view, Self.police).eta == reported + 10 * 60_000, "eta PT10M counts from the report-in")
            }

            // Only the summoner closes: a summoned township and a summoned department may publish on
            // /topic/summons (for progress notes), and the workflow refuses their close.
            await expectRefusal("invalid-transition", containing: ["s-1", "is open", "summoner", Self.guangchen]) {
                try await Self.send(try await broker.connect(Self.guangchen, jurisdiction: "pinghu"), "summons", to: "/topic/summons",
                                    ["action": "close", "summonsId": id, "resolution": "done, says Guangchen"])
            }
            await expectRefusal("invalid-transition", containing: ["s-1", "is open", "summoner", Self.police]) {
                try await Self.send(try await broker.connect(Self.police), "summons", to: "/topic/summons",
                                    ["action": "close", "summonsId": id, "resolution": "done, says the police"])
            }
            #expect(try await Self.summons(town, id).state == "open", "refused closes change nothing")

            try await Self.send(town, "summons", to: "/topic/summons",
                                ["action": "close", "summonsId": id, "resolution": "digging stopped, equipment seized"])
            try await Self.send(town, "evaluation", to: "/topic/evaluation",
                                ["summonsId": id, "party": Self.police, "score": 5, "comment": "on site in 18 minutes"])
            try await Self.send(town, "evaluation", to: "/topic/evaluation", ["summonsId": id, "party": Self.guangchen, "score": 4])
            await expectRefusal("invalid-transition", containing: ["s-1", "is closed", "already evaluated"]) {
                try await Self.send(try await broker.connect(Self.town), "evaluation", to: "/topic/evaluation",
                                    ["summonsId": id, "party": Self.police, "score": 1])
            }
            await expectRefusal("invalid-transition", containing: ["s-1", "is closed"]) {
                try await Self.send(try await broker.connect(Self.police), "report-in", to: "/topic/report-in",
                                    Self.reportIn(id, people: ["Officer Wang"], eta: "PT0S"))
            }
            await expectRefusal("invalid-transition", containing: ["s-1", "is closed"]) {
                try await Self.send(try await broker.connect(Self.guangchen, jurisdiction: "pinghu"), "report-in", to: "/topic/report-in",
                                    Self.reportIn(id, people: ["Deputy mayor Shen"], eta: "PT0S"))
            }

            let closed = try await Self.summons(town, id)
            #expect(closed.state == "closed")
            #expect(closed.resolution == "digging stopped, equipment seized")
            #expect(closed.closedAt != nil)
            #expect(try Self.party(closed, Self.police).score == 5)
            #expect(try Self.party(closed, Self.police).comment == "on site in 18 minutes")
            #expect(try Self.party(closed, Self.guangchen).score == 4)
            #expect(closed.parties.allSatisfy { $0.status == "on time" })
            #expect(closed.timeline.contains { $0.text.hasPrefix("evaluated \(Self.police): 5/5") }, "\(closed.timeline.map(\.text))")
            #expect(closed.timeline.filter { $0.text.hasPrefix("reported in") }.count == 2, "refused report-ins left no trace")

            // A summoned party sees the summons too; a stranger does not.
            #expect(try await Self.summons(police, id).state == "closed")
            await expectRefusal("not-authorized") {
                _ = try await Self.summons(try await broker.connect(Self.grid), id)
            }
            for connection in [police, guangchen, town] { try await connection.disconnect() }
        }
    }

    /// 2. Nobody watches: the broker escalates a missed deadline by itself, then takes a late report-in.
    /// The broker's clock runs 1800 times as fast: the 30-minute deadline passes a second after
    /// the summons (and an ack-wait of a day lasts 48 s).
    @Test func aMissedDeadlineIsEscalatedWithoutAnyoneWatching() async throws {
        try await withBroker(settings: "delivery: {ack-wait: 1d}", topics: BrokerProcess.shippedTopics,
                             clock: .running(rate: 1800)) { broker in
            let town = try await broker.connect(Self.town)
            let townInbox = try await town.subscribe(to: Self.inbox(Self.town), ack: .clientIndividual)
            let escalations = try await town.subscribe(to: "/topic/escalation")

            let receipt = try await Self.send(town, "summons", to: "/topic/summons",
                                              Self.open(summoning: [Self.police], deadline: "PT30M", reminders: ["PT10M"]))
            let id = try #require(receipt[WorkflowHeader.id])
            let deadline = try await Self.summons(town, id).deadline

            // No party acts; the broker writes the escalation when the deadline passes.
            let record = try #require(try await escalations.take(1, timeout: .seconds(30)).first)
            #expect(record.headers["muster-type"] == "escalation")
            #expect(record.headers[WorkflowHeader.event] == "escalation")
            #expect(record.headers[WorkflowHeader.id] == id)
            #expect(record.headers[WorkflowHeader.party] == "jinshan/\(Self.police)")
            let body = try Self.json(record)
            #expect(body["summonsId"] as? String == id)
            #expect(body["missingParty"] as? String == Self.police)
            let notify = try #require(body["notify"] as? [String])
            #expect(notify.contains(Self.town), "the summoner is told: \(notify)")
            #expect(Set(notify).count == notify.count, "the summoner, who is also the police's supervisor, is told once: \(notify)")
            #expect((body["deadline"] as? String).flatMap(WorkflowTime.milliseconds(rfc3339:)) == deadline)
            let escalatedAt = try #require((body["escalatedAt"] as? String).flatMap(WorkflowTime.milliseconds(rfc3339:)))
            #expect(escalatedAt >= deadline)
            // In real time (the timer sleeps in real time; its idle round is 5 s).
            let late = broker.clock.realTime(of: escalatedAt - deadline)
            #expect(late < .seconds(3), "the timer wakes for the deadline, not at its next idle round: \(late) late")
            #expect(body["reason"] as? String != nil)

            let copy = try #require(try await townInbox.take(1, timeout: .seconds(30)).first)
            #expect(copy.headers["muster-type"] == "escalation")
            #expect(copy.headers[WorkflowHeader.event] == "inbox-copy")
            #expect(copy.headers[WorkflowHeader.id] == id)
            #expect(try Self.json(copy)["missingParty"] as? String == Self.police)
            #expect(copy.body == record.body, "the inbox copy is the escalation record")
            try await town.ack(copy, receipt: true)

            let missed = try Self.party(try await Self.summons(town, id), Self.police)
            #expect(missed.status == "missed")
            #expect(missed.escalatedAt == escalatedAt)
            #expect(missed.reportedInAt == nil)

            // The late report-in is taken, and shown as late.
            let police = try await broker.connect(Self.police)
            try await Self.send(police, "report-in", to: "/topic/report-in", Self.reportIn(id, people: ["Officer Gu"], eta: "PT0S"))
            let view = try await Self.summons(town, id)
            let lateParty = try Self.party(view, Self.police)
            #expect(lateParty.status == "late")
            #expect((lateParty.lateByMilliseconds ?? 0) > 0, "\(lateParty)")
            if let reported = lateParty.reportedInAt { #expect(lateParty.lateByMilliseconds == reported - deadline) }
            #expect(lateParty.escalatedAt == escalatedAt, "the escalation stays on the record")
            #expect(view.timeline.filter { $0.text.hasPrefix("escalated") }.count == 1, "\(view.timeline.map(\.text))")
            // The reminder (PT10M before the deadline) went out before the escalation, once.
            let reminders = view.timeline.filter { $0.text.hasPrefix("reminded") }
            #expect(reminders.count == 1, "\(view.timeline.map(\.text))")
            if let reminder = reminders.first {
                #expect(reminder.time >= deadline - 10 * 60_000 && reminder.time < escalatedAt, "reminded at \(reminder.time - deadline) ms from the deadline")
            }
            #expect(view.timeline.contains { $0.text.contains("late by") }, "\(view.timeline.map(\.text))")
            for connection in [police, town] { try await connection.disconnect() }
        }
    }

    /// 3. A hand-off from dispatch to rating, with a rejection and a transfer to the village
    /// grid, whose admission list lets the township's river patrol in and a department's
    /// unlisted task not.
    @Test func aHandoffIsRejectedTransferredCompletedAndRatedOnce() async throws {
        try await withBroker(topics: BrokerProcess.shippedTopics) { broker in
            let police = try await broker.connect(Self.police)
            let grid = try await broker.connect(Self.grid)
            let policeInbox = try await police.subscribe(to: Self.inbox(Self.police), ack: .clientIndividual)
            let gridInbox = try await grid.subscribe(to: Self.inbox(Self.grid), ack: .clientIndividual)
            let town = try await broker.connect(Self.town)

            let due = WorkflowTime.rfc3339(Self.now() + 86_400_000)
            let receipt = try await Self.send(town, "handoff", to: "/topic/handoff",
                                              Self.dispatch("river-patrol", to: Self.police, due: due))
            let id = try #require(receipt[WorkflowHeader.id])
            #expect(id == "h-1")
            let copy = try #require(try await policeInbox.take(1).first)
            #expect(copy.headers["muster-type"] == "handoff")
            #expect(copy.headers[WorkflowHeader.event] == "inbox-copy")
            #expect(copy.headers[WorkflowHeader.id] == id)
            #expect(copy.headers[WorkflowHeader.deadline].flatMap(WorkflowTime.milliseconds(rfc3339:)) == WorkflowTime.milliseconds(rfc3339: due))
            try await police.ack(copy, receipt: true)

            await expectRefusal("invalid-transition", containing: [id, "dispatched"]) {
                try await Self.send(try await broker.connect(Self.police), "handoff", to: "/topic/handoff",
                                    ["action": "complete", "handoffId": id, "result": "patrolled"])
            }
            await expectRefusal("invalid-transition", containing: [id, "dispatched", "assignee", Self.guangchen]) {
                try await Self.send(try await broker.connect(Self.guangchen, jurisdiction: "pinghu"), "handoff", to: "/topic/handoff",
                                    ["action": "accept", "handoffId": id])
            }
            #expect(try await Self.handoff(town, id).state == "dispatched")

            try await Self.send(police, "handoff", to: "/topic/handoff",
                                ["action": "reject", "handoffId": id, "reason": "a bank patrol is village-level work, not policing"])
            #expect(try await Self.handoff(town, id).state == "rejected")

            let transfer = try await Self.send(town, "handoff", to: "/topic/handoff",
                                               ["action": "transfer", "handoffId": id, "to": Self.grid, "reason": "admitted task: river patrol"])
            #expect(transfer[WorkflowHeader.id] == id)
            let gridCopy = try #require(try await gridInbox.take(1).first)
            #expect(gridCopy.headers["muster-type"] == "handoff")
            #expect(gridCopy.headers[WorkflowHeader.event] == "inbox-copy")
            #expect(gridCopy.headers[WorkflowHeader.id] == id)
            #expect(gridCopy.headers[WorkflowHeader.party] == "jinshan/\(Self.grid)")
            #expect(try Self.json(gridCopy)["taskType"] as? String == "river-patrol", "the copy carries the dispatch")
            try await grid.ack(gridCopy, receipt: true)

            try await Self.send(grid, "handoff", to: "/topic/handoff", ["action": "accept", "handoffId": id, "note": "grid worker Chen"])
            try await Self.send(grid, "handoff", to: "/topic/handoff", ["action": "complete", "handoffId": id, "result": "patrolled, no digging"])
            try await Self.send(town, "handoff", to: "/topic/handoff",
                                ["action": "rate", "handoffId": id, "score": 5, "rater": "citizen", "comment": "villager satisfied"])
            await expectRefusal("invalid-transition", containing: [id, "rated"]) {
                try await Self.send(try await broker.connect(Self.town), "handoff", to: "/topic/handoff",
                                    ["action": "rate", "handoffId": id, "score": 1, "rater": "citizen"])
            }

            let view = try await Self.handoff(town, id)
            #expect(view.state == "rated")
            #expect(view.taskType == "river-patrol")
            #expect(view.originator == "jinshan/\(Self.town)")
            #expect(view.assignee == "jinshan/\(Self.grid)")
            #expect(view.citizenScore == 5)
            #expect(view.originatorScore == nil)
            #expect(view.result == "patrolled, no digging")
            #expect(view.overdue == false)
            #expect(view.due == WorkflowTime.milliseconds(rfc3339: due))
            #expect(view.legs.map(\.assignee) == ["jinshan/\(Self.police)", "jinshan/\(Self.grid)"])
            if view.legs.count == 2 {
                let first = view.legs[0], second = view.legs[1]
                #expect(first.rejectedAt != nil)
                #expect(first.acceptedAt == nil && first.completedAt == nil)
                #expect(first.transferredAt == nil, "the originator re-routed the rejected task; the police transferred nothing")
                #expect(first.deliveredAt != nil && first.ackedAt != nil, "\(first)")
                #expect(second.acceptedAt != nil && second.completedAt != nil)
                #expect(second.deliveredAt != nil && second.ackedAt != nil, "\(second)")
            }
            #expect(view.timeline.filter { $0.text.hasPrefix("rated") }.count == 1, "\(view.timeline.map(\.text))")
            // The grid, an assignee, may see the ticket.
            #expect(try await Self.handoff(grid, id).state == "rated")

            // A department may not put an unlisted task into the grid's inbox; nothing is dispatched.
            await expectRefusal("not-admitted", containing: ["census-form"]) {
                try await Self.send(try await broker.connect(Self.police), "handoff", to: "/topic/handoff",
                                    Self.dispatch("census-form", to: Self.grid, due: due))
            }
            let next = try await Self.send(town, "handoff", to: "/topic/handoff", Self.dispatch("drain-clearing", to: Self.grid, due: due))
            #expect(next[WorkflowHeader.id] == "h-2", "the refused dispatch took no id")
            let list = try await Self.ask(town, ["muster-query": "handoff-list"], as: [HandoffView].self)
            #expect(list.map(\.id) == ["h-1", "h-2"])
            for connection in [police, grid, town] { try await connection.disconnect() }
        }
    }

    /// 4a. State is a function of the log: a SIGKILL and a restart answer the same views, and
    /// new cases continue the numbering.
    /// After a kill, the restart rebuilds the workflows from the snapshot the broker wrote when it
    /// started and the log after it; after a clean stop, from the snapshot written at the stop
    /// alone; a snapshot that does not check out is ignored (and said so) and the log read whole.
    @Test(arguments: RestartMode.allCases)
    func theViewsAreTheSameAfterARestart(_ mode: RestartMode) async throws {
        try await withRestartableBroker { brokers in
            let broker = brokers.current
            let police = try await broker.connect(Self.police)
            let guangchen = try await broker.connect(Self.guangchen, jurisdiction: "pinghu")
            let grid = try await broker.connect(Self.grid)
            let policeInbox = try await police.subscribe(to: Self.inbox(Self.police), ack: .clientIndividual)
            let guangchenInbox = try await guangchen.subscribe(to: Self.inbox(Self.guangchen), ack: .clientIndividual)
            let gridInbox = try await grid.subscribe(to: Self.inbox(Self.grid), ack: .clientIndividual)
            let town = try await broker.connect(Self.town)

            // A summons: two copies acknowledged, one report-in, a progress note; one party not yet answering.
            let summonsID = try #require(try await Self.send(town, "summons", to: "/topic/summons",
                                                             Self.open(summoning: [Self.police, Self.guangchen, Self.pinghuPolice], deadline: "PT30M"))[WorkflowHeader.id])
            for (connection, inbox) in [(police, policeInbox), (guangchen, guangchenInbox)] {
                try await connection.ack(try #require(try await inbox.take(1).first), receipt: true)
            }
            try await Self.send(police, "report-in", to: "/topic/report-in", Self.reportIn(summonsID, people: ["Officer Zhang"], eta: "PT10M"))
            try await Self.send(town, "summons", to: "/topic/summons", ["action": "progress", "summonsId": summonsID, "note": "police on site"])

            // A hand-off: rejected, transferred, accepted by the grid, a progress note.
            let due = WorkflowTime.rfc3339(Self.now() + 86_400_000)
            let handoffID = try #require(try await Self.send(town, "handoff", to: "/topic/handoff",
                                                             Self.dispatch("river-patrol", to: Self.police, due: due))[WorkflowHeader.id])
            try await police.ack(try #require(try await policeInbox.take(1).first), receipt: true)
            try await Self.send(police, "handoff", to: "/topic/handoff", ["action": "reject", "handoffId": handoffID, "reason": "not policing"])
            try await Self.send(town, "handoff", to: "/topic/handoff", ["action": "transfer", "handoffId": handoffID, "to": Self.grid, "reason": "admitted"])
            try await grid.ack(try #require(try await gridInbox.take(1).first), receipt: true)
            try await Self.send(grid, "handoff", to: "/topic/handoff", ["action": "accept", "handoffId": handoffID])
            try await Self.send(grid, "handoff", to: "/topic/handoff", ["action": "progress", "handoffId": handoffID, "note": "first patrol done"])

            let summonsBefore = try await Self.summons(town, summonsID)
            let handoffBefore = try await Self.handoff(town, handoffID)
            let summonsListBefore = try await Self.ask(town, ["muster-query": "summons-list"], as: [SummonsView].self)
            let handoffListBefore = try await Self.ask(town, ["muster-query": "handoff-list"], as: [HandoffView].self)
            // The views hold what the test is about (else equality proves little).
            #expect(try Self.party(summonsBefore, Self.police).ackedAt != nil)
            #expect(try Self.party(summonsBefore, Self.police).reportedInAt != nil)
            #expect(try Self.party(summonsBefore, Self.guangchen).ackedAt != nil)
            #expect(try Self.party(summonsBefore, Self.pinghuPolice).status == "waiting")
            #expect(handoffBefore.state == "accepted" && handoffBefore.legs.count == 2)
            #expect(handoffBefore.legs.last?.ackedAt != nil)

            let restarted = try brokers.restart(mode)
            let rebuilt = try #require(restarted.log.split(separator: "\n").first { $0.contains("workflows rebuilt") }, "\(restarted.log)")
            switch mode {
            case .kill:
                #expect(rebuilt.contains("from-snapshot=through offset"), "\(rebuilt)")
            case .cleanStop:
                // The snapshot written at the stop holds everything: nothing is read again.
                #expect(rebuilt.contains("from-snapshot=through offset") && rebuilt.contains("records-read=0"), "\(rebuilt)")
            case .tornSnapshot, .snapshotOfAnotherLog, .snapshotAheadOfTheLog:
                #expect(rebuilt.contains("from-snapshot=no"), "\(rebuilt)")
                #expect(restarted.log.contains("workflow snapshot not used"), "\(restarted.log)")
            }
            let townAgain = try await restarted.connect(Self.town)
            #expect(try await Self.summons(townAgain, summonsID) == summonsBefore)
            #expect(try await Self.handoff(townAgain, handoffID) == handoffBefore)
            #expect(try await Self.ask(townAgain, ["muster-query": "summons-list"], as: [SummonsView].self) == summonsListBefore)
            #expect(try await Self.ask(townAgain, ["muster-query": "handoff-list"], as: [HandoffView].self) == handoffListBefore)
            #expect(try await Self.summons(try await restarted.connect(Self.police), summonsID) == summonsBefore,
                    "a summoned party's view after the restart")

            // The cases go on where they were; new cases continue the numbering.
            let guangchenAgain = try await restarted.connect(Self.guangchen, jurisdiction: "pinghu")
            try await Self.send(guangchenAgain, "report-in", to: "/topic/report-in", Self.reportIn(summonsID, people: ["Deputy mayor Shen"], eta: "PT5M"))
            await expectRefusal("invalid-transition", containing: ["already reported in"]) {
                try await Self.send(try await restarted.connect(Self.police), "report-in", to: "/topic/report-in",
                                    Self.reportIn(summonsID, people: ["Officer Zhang"], eta: "PT1M"))
            }
            try await Self.send(try await restarted.connect(Self.grid), "handoff", to: "/topic/handoff",
                                ["action": "complete", "handoffId": handoffID, "result": "patrolled"])
            #expect(try await Self.handoff(townAgain, handoffID).state == "completed")
            #expect(try Self.party(try await Self.summons(townAgain, summonsID), Self.guangchen).status == "on time")
            let second = try await Self.send(townAgain, "summons", to: "/topic/summons", Self.open(summoning: [Self.police], deadline: "PT30M"))
            #expect(second[WorkflowHeader.id] == "s-2")
            let nextHandoff = try await Self.send(townAgain, "handoff", to: "/topic/handoff", Self.dispatch("drain-clearing", to: Self.grid, due: due))
            #expect(nextHandoff[WorkflowHeader.id] == "h-2")
        }
    }

    /// 4b. A deadline that passes while the broker is down is escalated at the restart, and the
    /// escalation names the summons' deadline, not the restart. The broker is down for 31
    /// minutes of its clock: the restarted process's clock reads that much later.
    @Test func aDeadlinePassedWhileTheBrokerWasDownIsEscalatedWithItsOwnDeadline() async throws {
        try await withRestartableBroker { brokers in
            let clock = brokers.current.clock
            let town = try await brokers.current.connect(Self.town)
            let sentAt = clock.now()
            let receipt = try await Self.send(town, "summons", to: "/topic/summons", Self.open(summoning: [Self.police], deadline: "PT30M"))
            brokers.current.kill()
            let killedAt = clock.now()
            let id = try #require(receipt[WorkflowHeader.id])
            try #require(killedAt < sentAt + 30 * 60_000, "the broker was killed \(killedAt - sentAt) ms after the summons was sent, before its deadline")
            let receivedAt = clock.now()

            // The broker is down until the deadline (at most 30 minutes after the receipt) has passed.
            let restartClock = try clock.advanced(by: 31 * 60_000)
            #expect(restartClock.now() > receivedAt + 30 * 60_000 + 200, "the deadline passes while the broker is down")
            let restartedAt = restartClock.now()
            let restarted = try brokers.restart(clock: restartClock)

            // The summons' copy waits in the police inbox (written before the kill, or at the restart).
            let police = try await restarted.connect(Self.police)
            let copy = try #require(try await police.subscribe(to: Self.inbox(Self.police), ack: .clientIndividual).take(1, timeout: .seconds(30)).first)
            #expect(copy.headers[WorkflowHeader.event] == "inbox-copy")
            #expect(copy.headers[WorkflowHeader.id] == id)
            let deadlineText = try #require(copy.headers[WorkflowHeader.deadline])
            let deadline = try #require(WorkflowTime.milliseconds(rfc3339: deadlineText))
            #expect(deadline >= sentAt + 30 * 60_000 && deadline <= receivedAt + 30 * 60_000)
            #expect(deadline < restartedAt)

            // The escalation waits in the summoner's inbox.
            let town2 = try await restarted.connect(Self.town)
            let escalation = try #require(try await town2.subscribe(to: Self.inbox(Self.town), ack: .clientIndividual).take(1, timeout: .seconds(30)).first)
            #expect(escalation.headers["muster-type"] == "escalation")
            #expect(escalation.headers[WorkflowHeader.id] == id)
            let body = try Self.json(escalation)
            #expect(body["missingParty"] as? String == Self.police)
            #expect(body["deadline"] as? String == deadlineText, "the escalation names the summons' deadline")
            #expect((body["deadline"] as? String).flatMap(WorkflowTime.milliseconds(rfc3339:)) == deadline)
            let escalatedAt = try #require((body["escalatedAt"] as? String).flatMap(WorkflowTime.milliseconds(rfc3339:)))
            #expect(escalatedAt > deadline)
            #expect(escalatedAt >= restartedAt, "escalated at the restart (\(escalatedAt - restartedAt) ms after it)")

            // Exactly one escalation record on the topic (replayed from the log).
            let replay = try await town2.subscribe(to: "/topic/escalation", headers: ["x-stream-offset": "first", "muster-until": "head"])
            let records = try await within(.seconds(15), "the escalation replay") {
                var records: [ReceivedMessage] = []
                for try await message in replay { records.append(message) }
                return records
            }
            #expect(records.count == 1, "\(records.map(\.bodyText))")
            #expect(records.first?.body == escalation.body)

            let view = try Self.party(try await Self.summons(town2, id), Self.police)
            #expect(view.status == "missed")
            #expect(view.escalatedAt == escalatedAt)
        }
    }

    /// 5. The assessment the broker answers equals the one an auditor computes offline from
    /// the data directory. The test moves the broker's clock past the 30-minute deadline once
    /// the police have reported in.
    @Test func theAssessmentOnlineEqualsTheAssessmentFromTheDataDirectory() async throws {
        let from = BrokerClock.wallMilliseconds() - 1
        let broker = try await runBlocking { try BrokerProcess.start(topics: BrokerProcess.shippedTopics, clock: .movedByHand()) }
        let clock = broker.clock
        defer { broker.stop() }
        do {
            let town = try await broker.connect(Self.town)
            let escalations = try await town.subscribe(to: "/topic/escalation")
            let police = try await broker.connect(Self.police)
            let guangchen = try await broker.connect(Self.guangchen, jurisdiction: "pinghu")
            let grid = try await broker.connect(Self.grid)

            // A summons: the police on time, Guangchen late, Pinghu public security never.
            let summonsID = try #require(try await Self.send(town, "summons", to: "/topic/summons",
                                                             Self.open(summoning: [Self.police, Self.guangchen, Self.pinghuPolice], deadline: "PT30M"))[WorkflowHeader.id])
            try await Self.send(police, "report-in", to: "/topic/report-in", Self.reportIn(summonsID, people: ["Officer Zhang"], eta: "PT10M"))
            try await broker.advanceClock(by: 31 * 60_000)
            let escalated = try await escalations.take(2, timeout: .seconds(30))
            #expect(Set(escalated.compactMap { try? Self.json($0)["missingParty"] as? String }) == [Self.guangchen, Self.pinghuPolice])
            try await Self.send(guangchen, "report-in", to: "/topic/report-in", Self.reportIn(summonsID, people: ["Deputy mayor Shen"], eta: "PT0S"))
            try await Self.send(town, "summons", to: "/topic/summons", ["action": "close", "summonsId": summonsID, "resolution": "done"])
            try await Self.send(town, "evaluation", to: "/topic/evaluation", ["summonsId": summonsID, "party": Self.police, "score": 5])
            try await Self.send(town, "evaluation", to: "/topic/evaluation", ["summonsId": summonsID, "party": Self.guangchen, "score": 3])

            // A hand-off: the police reject, the grid completes, the citizen rates.
            let due = WorkflowTime.rfc3339(clock.now() + 86_400_000)
            let handoffID = try #require(try await Self.send(town, "handoff", to: "/topic/handoff",
                                                             Self.dispatch("river-patrol", to: Self.police, due: due))[WorkflowHeader.id])
            try await Self.send(police, "handoff", to: "/topic/handoff", ["action": "reject", "handoffId": handoffID, "reason": "not policing"])
            try await Self.send(town, "handoff", to: "/topic/handoff", ["action": "transfer", "handoffId": handoffID, "to": Self.grid, "reason": "admitted"])
            try await Self.send(grid, "handoff", to: "/topic/handoff", ["action": "accept", "handoffId": handoffID])
            try await Self.send(grid, "handoff", to: "/topic/handoff", ["action": "complete", "handoffId": handoffID, "result": "patrolled"])
            try await Self.send(town, "handoff", to: "/topic/handoff", ["action": "rate", "handoffId": handoffID, "score": 4, "rater": "citizen"])

            // The police try to put an unlisted task into the grid's inbox: an admission refusal.
            await expectRefusal("not-admitted") {
                try await Self.send(try await broker.connect(Self.police), "handoff", to: "/topic/handoff",
                                    Self.dispatch("census-form", to: Self.grid, due: due))
            }
            // The refusal is in the audit log before the period closes.
            let auditor = try await broker.connect("discipline-inspector")
            let audit = try await auditor.subscribe(to: "/topic/muster.audit.refusals", headers: ["x-stream-offset": "first"])
            #expect(try await audit.take(1).first.map { try Self.json($0)["code"] as? String } == "not-admitted")

            let to = clock.now() + 1
            try await eventually("the period to end") { clock.now() > to }
            let period: StompHeaders = ["muster-query": "assessment", "muster-from": String(from), "muster-to": String(to)]
            let online = try await Self.ask(town, period, as: Assessment.self)
            var pinghuPeriod = period
            pinghuPeriod["muster-jurisdiction"] = "pinghu"
            let onlinePinghu = try await Self.ask(police, pinghuPeriod, as: Assessment.self)
            for connection in [town, police, guangchen, grid, auditor] { try await connection.disconnect() }
            #expect(broker.stop(removingDirectory: false) == 0)

            let book = try WorkflowRecovery.read(dataDirectory: broker.dataDirectory).book
            let offline = Assessment(book: book, from: from, to: to, jurisdiction: nil, now: clock.now())
            let offlinePinghu = Assessment(book: book, from: from, to: to, jurisdiction: "pinghu", now: clock.now())

            for (name, assessment) in [("online", online), ("offline", offline)] {
                let police = try Self.row(assessment, Self.police), guangchen = try Self.row(assessment, Self.guangchen)
                let pinghu = try Self.row(assessment, Self.pinghuPolice), grid = try Self.row(assessment, Self.grid)
                #expect(police.summonsReceived == 1 && police.reportedInOnTime == 1 && police.reportedInLate == 0 && police.missed == 0, "\(name): \(police)")
                #expect(police.onTimePercent == 100 && police.averageEvaluation == 5, "\(name): \(police)")
                #expect(police.handoffsReceived == 1 && police.rejected == 1 && police.accepted == 0 && police.transferred == 0, "\(name): \(police)")
                #expect(police.admissionRefusals == 1, "\(name): the police's not-admitted dispatch counts: \(police)")
                #expect(guangchen.summonsReceived == 1 && guangchen.reportedInLate == 1 && guangchen.reportedInOnTime == 0 && guangchen.missed == 0,
                        "\(name): \(guangchen)")
                #expect(guangchen.onTimePercent == 0 && guangchen.averageEvaluation == 3, "\(name): \(guangchen)")
                #expect(pinghu.summonsReceived == 1 && pinghu.missed == 1 && pinghu.reportedInOnTime == 0 && pinghu.reportedInLate == 0, "\(name): \(pinghu)")
                #expect(pinghu.medianReportInMilliseconds == nil, "\(name): \(pinghu)")
                #expect(grid.handoffsReceived == 1 && grid.accepted == 1 && grid.overdue == 0, "\(name): \(grid)")
                #expect(grid.citizenRating == 4 && grid.medianCompletionMilliseconds != nil, "\(name): \(grid)")
                #expect(!assessment.rows.contains { $0.party == Self.town }, "\(name): the summoner is not assessed")
            }
            #expect(online == offline)
            #expect(onlinePinghu == offlinePinghu)
            #expect(onlinePinghu.rows.map(\.party) == [Self.guangchen, Self.pinghuPolice])
            // Apart from the admission refusals, the two agree (narrows a failure of the equality above).
            #expect(Self.withoutAdmissionRefusals(online) == Self.withoutAdmissionRefusals(offline))
        } catch {
            Issue.record("broker output:\n\(broker.log)")
            throw error
        }
    }

    // MARK: Parties and messages

    static let town = "langxia-town"
    static let police = "jinshan-public-security"
    static let grid = "shanta-village-grid"
    static let guangchen = "guangchen-town"
    static let pinghuPolice = "pinghu-public-security"
    static let title = "Illegal gold digging on the Shanta river bank"

    static func inbox(_ party: String) -> String { "/queue/inbox.\(party)" }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    static func open(summoning parties: [String], deadline: String, reminders: [String]? = nil) -> [String: Any] {
        var body: [String: Any] = [
            "action": "open", "title": title,
            "description": "An excavator is digging the river bank at the provincial border; enforcement and Pinghu's side are needed on site.",
            "location": ["name": "山塘河廊下段 (Shanta river, Langxia stretch)"], "severity": "high",
            "summoned": parties, "deadline": deadline,
        ]
        if let reminders { body["reminders"] = reminders }
        return body
    }

    static func reportIn(_ id: String, people: [String], eta: String) -> [String: Any] {
        ["summonsId": id, "people": people.map { ["name": $0] }, "eta": eta]
    }

    static func dispatch(_ task: String, to assignee: String, due: String) -> [String: Any] {
        ["action": "dispatch", "taskType": task, "title": "Patrol the restored river bank", "description": "Daily patrol until the refilled pit has settled.",
         "assignee": assignee, "due": due, "reference": "LX-2026-0612-03"]
    }

    /// Sends a typed JSON message and waits for the RECEIPT; returns its headers.
    @discardableResult
    static func send(_ connection: MusterConnection, _ type: String, to destination: String, _ body: [String: Any]) async throws -> StompHeaders {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let frame = StompFrame(.send, headers: ["destination": destination, "muster-type": type, "content-type": "application/json;charset=utf-8"],
                               body: Array(data))
        return try await connection.send(frame, awaitingReceipt: true)
    }

    static func json(_ message: ReceivedMessage) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(message.body)) as? [String: Any], "a JSON object: \(message.bodyText)")
    }

    // MARK: Queries

    static func ask<Answer: Decodable & Sendable>(_ connection: MusterConnection, _ query: StompHeaders, as type: Answer.Type) async throws -> Answer {
        let body = try await within(.seconds(15), "the answer to \(query["muster-query"] ?? "a query")") {
            try await AckQueryClient(connection).ask(query)
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(body))
        } catch {
            Issue.record("cannot decode \(Answer.self) from \(String(decoding: body, as: UTF8.self)): \(error)")
            throw error
        }
    }

    static func summons(_ connection: MusterConnection, _ id: String) async throws -> SummonsView {
        try await ask(connection, ["muster-query": "summons-show", "muster-case": id], as: SummonsView.self)
    }

    static func handoff(_ connection: MusterConnection, _ id: String) async throws -> HandoffView {
        try await ask(connection, ["muster-query": "handoff-show", "muster-case": id], as: HandoffView.self)
    }

    static func party(_ view: SummonsView, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> SummonedPartyView {
        try #require(view.parties.first { $0.party == id }, "\(id) in summons \(view.id): \(view.parties.map(\.party))", sourceLocation: sourceLocation)
    }

    static func row(_ assessment: Assessment, _ party: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Assessment.Row {
        try #require(assessment.rows.first { $0.party == party }, "\(party) in \(assessment.rows.map(\.party))", sourceLocation: sourceLocation)
    }

    static func withoutAdmissionRefusals(_ assessment: Assessment) -> [Assessment.Row] {
        assessment.rows.map { row in
            var row = row
            row.admissionRefusals = 0
            return row
        }
    }

}

// MARK: A broker that is killed and restarted

/// How a test's broker goes down before its restart.
enum RestartMode: String, CaseIterable, CustomStringConvertible, Sendable {
    case kill
    case cleanStop = "clean stop"
    case tornSnapshot = "clean stop, then the snapshot torn"
    case snapshotOfAnotherLog = "clean stop, then a snapshot of another log"
    case snapshotAheadOfTheLog = "clean stop, then a snapshot ahead of the log"
    var description: String { rawValue }
}

/// The broker process of a test that kills and restarts it: whichever process runs at the end
/// is stopped, and the directory removed.
final class RestartableBroker: @unchecked Sendable {
    private(set) var current: BrokerProcess
    private var logs: [String] = []

    init(topics: String) throws {
        current = try BrokerProcess.start(topics: topics)
    }

    /// SIGKILL, then a new process on the same data directory.
    func killAndRestart() throws -> BrokerProcess {
        current.kill()
        return try restart()
    }

    /// A new process on the same data directory after a kill or a clean stop (and what `mode`
    /// does to the workflow snapshot in between).
    func restart(_ mode: RestartMode) throws -> BrokerProcess {
        guard mode != .kill else { return try killAndRestart() }
        current.stop(removingDirectory: false)
        let path = current.dataDirectory + "/workflow-snapshot.json"
        var file = try Data(contentsOf: URL(fileURLWithPath: path))
        let newline = try #require(file.firstIndex(of: UInt8(ascii: "\n")))
        var body = String(decoding: file[(newline + 1)...], as: UTF8.self)
        switch mode {
        case .tornSnapshot:
            file = file.prefix(file.count / 2)
        case .snapshotOfAnotherLog:
            body = try Self.replacing(#""chain":"[0-9a-f]+""#, in: body, with: "\"chain\":\"" + String(repeating: "0", count: 64) + "\"")
            file = Self.sealed(body)
        case .snapshotAheadOfTheLog:
            body = try Self.replacing(#""through":[0-9]+"#, in: body, with: "\"through\":999999999")
            file = Self.sealed(body)
        case .kill, .cleanStop:
            break
        }
        try file.write(to: URL(fileURLWithPath: path))
        return try restart()
    }

    private static func replacing(_ pattern: String, in text: String, with replacement: String) throws -> String {
        let range = try #require(text.range(of: pattern, options: .regularExpression), "\(pattern) in the snapshot")
        return text.replacingCharacters(in: range, with: replacement)
    }

    /// A snapshot file whose header vouches for `body` (a forged or stale snapshot, not a torn one).
    private static func sealed(_ body: String) -> Data {
        let bytes = Array(body.utf8)
        return Data("{\"sha256\":\"\(SHA256Digest.hex(of: bytes))\",\"bytes\":\(bytes.count)}\n".utf8) + Data(bytes)
    }

    /// Starts a new process on the same directory (after `current.kill()`), on the same clock
    /// unless `clock` says otherwise.
    func restart(clock: BrokerClock? = nil) throws -> BrokerProcess {
        logs.append(current.log)
        current = try current.restart(clock: clock)
        return current
    }

    var log: String { (logs + [current.log]).joined(separator: "\n--- restarted ---\n") }

    func finish() {
        current.stop(removingDirectory: false)
        current.directory.remove()
    }
}

func withRestartableBroker(topics: String = BrokerProcess.shippedTopics, _ body: (RestartableBroker) async throws -> Void) async throws {
    let brokers = try RestartableBroker(topics: topics)
    do {
        try await body(brokers)
        brokers.finish()
    } catch {
        Issue.record("broker output:\n\(brokers.log)")
        brokers.finish()
        throw error
    }
}
