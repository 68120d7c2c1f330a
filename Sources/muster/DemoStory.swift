import Foundation
import MusterBroker
import MusterClient
import MusterNet
import MusterStomp
import Synchronization
import MusterProtocol
import MusterWorkflow

/// The stage of the Jinshan–Pinghu stories: one mutual-TLS connection per party, to its broker,
/// each with an adapter that reads its inbox and acknowledges what it received; what happens
/// is printed on story time. The stories themselves are `play()` (one broker) and
/// `playAcrossTheBorder` (two, `DemoStory+Border.swift`).
final class DemoStory: Sendable {
    static let summonsIDHint = "s-1"
    /// The single-broker story's parties.
    static let cast: [(party: String, jurisdiction: String)] = [
        ("langxia-town", "jinshan"), ("guangchen-town", "pinghu"), ("jinshan-public-security", "jinshan"),
        ("pinghu-public-security", "pinghu"), ("langxia-agri-coop", "jinshan"), ("shanta-village-grid", "jinshan"),
    ]

    let clock: StoryClock
    let clients: [String: WorkflowClient]
    private let adapters = Mutex<[Task<Void, Never>]>([])
    private let seen = Mutex<[String]>([])
    let ids = Mutex<(summons: String, handoff: String)>(("", ""))

    var summonsID: String { ids.withLock { $0.summons } }

    private init(clock: StoryClock, clients: [String: WorkflowClient]) {
        self.clock = clock
        self.clients = clients
    }

    /// A party's adapter: reads its inbox and acknowledges what it received.
    private func startAdapter(_ party: String, _ feed: MessageSubscription) {
        let connection = clients[party]!.connection
        let task = Task { [self] in
            do {
                for try await message in feed {
                    received(message, by: party)
                    try await connection.ack(message)
                }
            } catch {}
        }
        adapters.withLock { $0.append(task) }
    }

    /// Connects each party of `cast` to the broker `address` names for its jurisdiction.
    static func begin(cast: [(party: String, jurisdiction: String)], address: (String) -> SocketAddress, certificates: String,
                      clock: StoryClock) async throws -> DemoStory {
        var clients: [String: WorkflowClient] = [:]
        var feeds: [(String, MessageSubscription)] = []
        for (party, jurisdiction) in cast {
            let address = address(jurisdiction)
            let options = ClientOptions(server: address, identity: ClientIdentity(
                certificatePath: "\(certificates)/\(jurisdiction)/\(party).crt", privateKeyPath: "\(certificates)/\(jurisdiction)/\(party).key",
                trustedAuthorityPaths: ["\(certificates)/ca-bundle.crt"]))
            let connection = try await MusterConnection.connect(options)
            clients[party] = WorkflowClient(connection: connection)
            feeds.append((party, try await connection.subscribe(to: "/queue/inbox.\(party)", ack: .clientIndividual)))
        }
        let story = DemoStory(clock: clock, clients: clients)
        for (party, feed) in feeds { story.startAdapter(party, feed) }
        return story
    }

    /// Langxia town (Jinshan) blows the whistle on illegal gold digging by the Shanta river;
    /// Jinshan public security, Pinghu's Guangchen town and the Langxia agricultural cooperative
    /// report in on time, Pinghu public security reports in late and is escalated by the broker;
    /// a river-patrol hand-off is rejected, transferred to the village grid and completed; the
    /// summons is closed and evaluated.
    func play() async throws {
        let town = clients["langxia-town"]!
        clock.start()
        say("langxia-town", "blows the whistle: illegal gold digging on the Shanta river bank; summons 4 parties to report in within 30 minutes")
        let summons = try await town.send(.summons, to: "/topic/summons", body: [
            "action": "open", "title": "Illegal gold digging on the Shanta river bank",
            "description": "An excavator is digging the river bank at the provincial border; enforcement and Pinghu's side are needed on site.",
            "location": ["name": "山塘河廊下段 (Shanta river, Langxia stretch)"], "severity": "high", "deadline": "PT30M", "reminders": ["PT10M"],
            "summoned": ["jinshan-public-security", "guangchen-town", "langxia-agri-coop", "pinghu-public-security"],
        ])
        ids.withLock { $0.summons = summons }
        try await waitFor("the four inbox copies") { $0.filter { $0.hasPrefix("copy \(summons)") }.count == 4 }

        try await reportIn("jinshan-public-security", at: 6, people: ["Officer Zhang", "Officer Li"], eta: "PT10M", note: "patrol car on the way")
        try await reportIn("guangchen-town", at: 11, people: ["Deputy mayor Shen"], eta: "PT12M", note: "crossing at the Guangchen bridge")
        try await reportIn("langxia-agri-coop", at: 17, people: ["Excavator operator Wu"], eta: "PT5M", note: "bringing a loader to refill the pit")
        try await waitFor("the reminder to Pinghu public security") { $0.contains("reminder \(summons) pinghu-public-security") }
        try await waitFor("the escalation at the deadline") { $0.contains("escalation \(summons) langxia-town") && $0.contains("escalation \(summons) guangchen-town") }
        try await reportIn("pinghu-public-security", at: 38, people: ["Officer Gu"], eta: "PT0S", note: "on site; the duty car was out on another call")

        try await clock.wait(untilMinute: 40)
        say("langxia-town", "dispatches a river-patrol hand-off to jinshan-public-security")
        let handoff = try await town.send(.handoff, to: "/topic/handoff", body: [
            "action": "dispatch", "taskType": "river-patrol", "title": "Patrol the restored river bank for a week",
            "description": "Daily patrol of the Shanta river bank until the refilled pit has settled; report any new digging.",
            "assignee": "jinshan-public-security", "due": WorkflowTime.rfc3339(clock.now() + 7 * 86_400_000), "reference": "LX-2026-0612-03",
        ])
        ids.withLock { $0.handoff = handoff }
        try await waitFor("the hand-off in the bureau's inbox") { $0.contains("copy \(handoff) jinshan-public-security") }
        try await step("jinshan-public-security", at: 42, ["action": "reject", "handoffId": handoff,
                                                           "reason": "a bank patrol is village-level work on the admission list, not policing"], "rejects \(handoff)")
        try await step("langxia-town", at: 43, ["action": "transfer", "handoffId": handoff, "to": "shanta-village-grid",
                                                "reason": "admitted task: 准入清单 item 7, river patrol"], "transfers \(handoff) to shanta-village-grid")
        try await waitFor("the hand-off in the grid's inbox") { $0.contains("copy \(handoff) shanta-village-grid") }
        try await step("shanta-village-grid", at: 45, ["action": "accept", "handoffId": handoff, "note": "grid worker Chen takes it"], "accepts \(handoff)")
        try await step("shanta-village-grid", at: 55, ["action": "complete", "handoffId": handoff, "result": "first patrol done; bank fenced, no new digging"],
                       "completes \(handoff)")

        try await clock.wait(untilMinute: 58)
        say("langxia-town", "closes \(summons): digging stopped, excavator seized, pit refilled")
        try await town.send(.summons, to: "/topic/summons", body: ["action": "close", "summonsId": summons,
                                                                   "resolution": "digging stopped, excavator seized, pit refilled"])
        for (party, score) in [("jinshan-public-security", 5), ("guangchen-town", 5), ("langxia-agri-coop", 4), ("pinghu-public-security", 2)] {
            say("langxia-town", "evaluates \(party): \(score)/5")
            try await town.send(.evaluation, to: "/topic/evaluation", body: ["summonsId": summons, "party": party, "score": score])
        }
        try await step("langxia-town", at: 60, ["action": "rate", "handoffId": handoff, "score": 5, "rater": "citizen",
                                                "comment": "return call: the villager is satisfied"], "relays the citizen's rating of \(handoff): 5/5")
    }

    /// The summons as `party`'s broker shows it to `party`.
    func summonsView(as party: String = "langxia-town") async throws -> SummonsView {
        try await clients[party]!.ask(.summonsShow, [QueryHeader.caseID: summonsID], as: SummonsView.self)
    }

    func assessment(as party: String = "langxia-town", jurisdiction: String? = nil) async throws -> Assessment {
        var parameters: StompHeaders = [QueryHeader.from: String(clock.storyStart - 60_000), QueryHeader.to: String(clock.now() + 60_000)]
        if let jurisdiction { parameters[QueryHeader.jurisdiction] = jurisdiction }
        return try await clients[party]!.ask(.assessment, parameters, as: Assessment.self)
    }

    func finish() async {
        for adapter in adapters.withLock({ $0 }) { adapter.cancel() }
        for client in clients.values { await client.close() }
    }

    // MARK: Telling it

    func say(_ party: String, _ text: String, at time: Int64? = nil) {
        print("\(clock.elapsed(time))  \(party.padding(toLength: 24, withPad: " ", startingAt: 0))  \(text)")
    }

    private func received(_ message: ReceivedMessage, by party: String) {
        let headers = message.headers
        let id = headers[WorkflowHeader.id] ?? "?"
        let about = headers[WorkflowHeader.party].flatMap(PartyIdentity.init(path:))?.party ?? party
        let time = headers[WorkflowHeader.time].flatMap { Int64($0) }
        switch (headers[ReservedHeader.type], headers[WorkflowHeader.event]) {
        case ("summons", "inbox-copy"):
            say(party, "inbox: summons \(id), report in by \(clock.elapsed(headers[WorkflowHeader.deadline].flatMap(WorkflowTime.milliseconds(rfc3339:)))); acknowledged", at: time)
            seen.withLock { $0.append("copy \(id) \(party)") }
        case ("summons", "reminder"):
            say(party, "inbox: reminder, \(id) is due in \(WorkflowTime.humanDuration(Int64(headers[WorkflowHeader.reminder] ?? "0") ?? 0))", at: time)
            seen.withLock { $0.append("reminder \(id) \(party)") }
        case ("escalation", _):
            say(party, "inbox: ESCALATION, \(about) did not report in to \(id) by its deadline", at: time)
            seen.withLock { $0.append("escalation \(id) \(party)") }
        case ("handoff", "inbox-copy"):
            say(party, "inbox: hand-off \(id) \(message.bodyText.contains("river-patrol") ? "(river-patrol) " : "")to do; acknowledged", at: time)
            seen.withLock { $0.append("copy \(id) \(party)") }
        default:
            say(party, "inbox: \(headers[ReservedHeader.type] ?? "message") \(id)", at: time)
        }
    }

    func reportIn(_ party: String, at minute: Double, people: [String], eta: String, note: String) async throws {
        try await clock.wait(untilMinute: minute)
        let late = clock.now() > clock.storyStart + 30 * 60_000
        say(party, "reports in to \(summonsID)\(late ? " LATE" : ""): \(people.joined(separator: ", ")), \(note)")
        try await clients[party]!.send(.reportIn, to: "/topic/report-in", body: [
            "summonsId": summonsID, "people": people.map { ["name": $0] }, "eta": eta, "note": note,
        ])
    }

    func step(_ party: String, at minute: Double, _ body: [String: Any], _ text: String) async throws {
        try await clock.wait(untilMinute: minute)
        say(party, text)
        try await clients[party]!.send(.handoff, to: "/topic/handoff", body: body)
    }

    /// Waits (in real time, up to 30 s) until a broker answers what the story needs next.
    func waitFor(_ what: String, polling condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while await !condition() {
            guard ContinuousClock.now < deadline else { throw CommandFailure("the demo waited 30 s for \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits (in real time, up to 30 s) until the adapters have seen what the story needs next.
    func waitFor(_ what: String, _ condition: ([String]) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !seen.withLock({ condition($0) }) {
            guard ContinuousClock.now < deadline else { throw CommandFailure("the demo waited 30 s for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
