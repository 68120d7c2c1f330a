import ArgumentParser
import Foundation
import MusterBroker
import MusterWorkflow

/// `muster summon`: blow the whistle (吹哨).
struct SummonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summon",
        abstract: "Summon parties to report in on site by a deadline; prints the summons id.",
        discussion: "Sends a summons open to /topic/summons; the broker copies it to each summoned party's inbox (/queue/inbox.PARTY), reminds, and escalates whoever has not reported in by the deadline.")

    @Option(help: ArgumentHelp("Who must report in: party ids, or KIND@JURISDICTION for every party of a kind.", valueName: "party,..."))
    var to: String

    @Option(help: "The incident, in one line.")
    var title: String

    @Option(help: "What happened and what is needed (default: the title).")
    var description: String?

    @Option(help: "Where to report in.")
    var location = "on site"

    @Option(help: "How long they have (30m, 1h, PT45M) or an RFC 3339 deadline.")
    var deadline = "30m"

    @Option(help: "low, medium, high or critical.")
    var severity = "high"

    @Option(name: .customLong("remind"), help: "Remind missing parties this long before the deadline (repeatable: --remind 10m --remind 5m).")
    var reminders: [String] = []

    @Option(help: "An outside reference (case or ticket number).")
    var reference: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let summoned: [Any] = to.split(separator: ",").map { item -> Any in
            let parts = item.split(separator: "@")
            if parts.count == 2 { return ["kind": String(parts[0]), "jurisdiction": String(parts[1])] }
            return String(item)
        }
        var body: [String: Any] = [
            "action": "open", "title": title, "description": description ?? title, "location": ["name": location],
            "summoned": summoned, "severity": severity,
            "deadline": WorkflowTime.milliseconds(rfc3339: deadline) != nil ? deadline : try WorkflowText.isoDuration(deadline),
        ]
        if !reminders.isEmpty { body["reminders"] = try reminders.map(WorkflowText.isoDuration) }
        if let reference { body["reference"] = reference }
        print(try await WorkflowClient.with(connection) { try await $0.send(.summons, to: "/topic/summons", body: body) })
    }
}

/// `muster report-in`: a summoned party reports in (报到).
struct ReportInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report-in",
        abstract: "Report in to a summons: who is coming and when they are on site.",
        discussion: "A report-in cannot be withdrawn; later news goes in a progress note (muster summons progress).")

    @Argument(help: "The summons id (muster summons list).")
    var id: String

    @Option(help: "When you are on site: a duration from now (15m; 0s means already there) or an RFC 3339 time.")
    var eta = "0s"

    @Option(help: "Who is coming (repeatable); default: the duty team.")
    var person: [String] = []

    @Option(help: "A note for the summoner.")
    var note: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let etaValue = WorkflowTime.milliseconds(rfc3339: eta) != nil ? eta : try WorkflowText.isoDuration(eta)
        var body: [String: Any] = ["summonsId": id, "eta": etaValue, "people": (person.isEmpty ? ["duty team"] : person).map { ["name": $0] }]
        if let note { body["note"] = note }
        try await WorkflowClient.with(connection) { try await $0.send(.reportIn, to: "/topic/report-in", body: body) }
        print("reported in to \(id)")
    }
}

/// `muster evaluate`: the summoner's evaluation of one summoned party (考核).
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a party you summoned, once the summons is closed: a score from 1 to 5.")

    @Argument(help: "The summons id.")
    var id: String

    @Option(help: "The summoned party.")
    var party: String

    @Option(help: "1 (very dissatisfied) to 5 (very satisfied).")
    var score: Int

    @Option(help: "A comment.")
    var comment: String?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...5).contains(score) else { throw ValidationError("--score must be 1 to 5") }
    }

    func run() async throws {
        var body: [String: Any] = ["summonsId": id, "party": party, "score": score]
        if let comment { body["comment"] = comment }
        try await WorkflowClient.with(connection) { try await $0.send(.evaluation, to: "/topic/evaluation", body: body) }
        print("evaluated \(party) on \(id): \(score)/5")
    }
}
