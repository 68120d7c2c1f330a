import ArgumentParser
import Foundation
import MusterBroker
import MusterProtocol
import MusterWorkflow

/// `muster handoff ...`: one ticket from dispatch to rating (派单 → 接单 → 办结 → 评价).
struct HandoffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handoff",
        abstract: "Dispatch a task to a party and follow it: accept, reject, transfer, progress, complete, rate.",
        discussion: "Every action goes to /topic/handoff; a dispatch and a transfer are copied to the assignee's inbox, subject to its admission list. An action the ticket's state does not allow is refused with invalid-transition and the current state.",
        subcommands: [Dispatch.self, Accept.self, Reject.self, Transfer.self, Progress.self, Complete.self, Rate.self, Show.self, List.self])

    static func send(_ connection: ConnectionOptions, _ body: [String: Any]) async throws -> String {
        try await WorkflowClient.with(connection) { try await $0.send(.handoff, to: "/topic/handoff", body: body) }
    }

    struct Dispatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pass a task to a party; prints the hand-off id.")
        @Option(help: "The assignee's party id.") var to: String
        @Option(help: "The task type (the admission list of the assignee's inbox must admit it).") var task: String
        @Option(help: "One line naming the task.") var title: String
        @Option(help: "What is to be done (default: the title).") var description: String?
        @Option(help: "When it must be done: a duration from now (2h, 3d) or an RFC 3339 time.") var due: String
        @Option(help: "The outside reference (hotline ticket, document number).") var reference: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let dueTime = WorkflowTime.rfc3339(try WorkflowText.milliseconds(due))
            print(try await HandoffCommand.send(connection, [
                "action": "dispatch", "assignee": to, "taskType": task, "title": title, "description": description ?? title,
                "due": dueTime, "reference": reference,
            ]))
        }
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take the task on (the assignee).")
        @Argument(help: "The hand-off id.") var id: String
        @Option(help: "A note.") var note: String?
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            var body: [String: Any] = ["action": "accept", "handoffId": id]
            if let note { body["note"] = note }
            _ = try await HandoffCommand.send(connection, body)
            print("accepted \(id)")
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse the task, saying why (the assignee).")
        @Argument(help: "The hand-off id.") var id: String
        @Option(help: "Why.") var reason: String
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            _ = try await HandoffCommand.send(connection, ["action": "reject", "handoffId": id, "reason": reason])
            print("rejected \(id)")
        }
    }

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pass the task to another party (the assignee, or the originator after a rejection).")
        @Argument(help: "The hand-off id.") var id: String
        @Option(help: "The new assignee's party id.") var to: String
        @Option(help: "Why.") var reason: String
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            _ = try await HandoffCommand.send(connection, ["action": "transfer", "handoffId": id, "to": to, "reason": reason])
            print("transferred \(id) to \(to)")
        }
    }

    struct Progress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say how the work stands.")
        @Argument(help: "The hand-off id.") var id: String
        @Option(help: "The note.") var note: String
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            _ = try await HandoffCommand.send(connection, ["action": "progress", "handoffId": id, "note": note])
            print("noted on \(id)")
        }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report the task done (the assignee).")
        @Argument(help: "The hand-off id.") var id: String
        @Option(help: "What was done.") var result: String
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            _ = try await HandoffCommand.send(connection, ["action": "complete", "handoffId": id, "result": result])
            print("completed \(id)")
        }
    }

    struct Rate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rate the completed task (the originator, for itself or relaying the citizen's rating).")
        @Argument(help: "The hand-off id.") var id: String
        @Option(help: "1 to 5.") var score: Int
        @Option(help: "originator or citizen.") var rater = "originator"
        @Option(help: "A comment.") var comment: String?
        @OptionGroup var connection: ConnectionOptions
        func validate() throws {
            guard (1...5).contains(score) else { throw ValidationError("--score must be 1 to 5") }
            guard ["originator", "citizen"].contains(rater) else { throw ValidationError("--rater must be originator or citizen") }
        }
        func run() async throws {
            var body: [String: Any] = ["action": "rate", "handoffId": id, "score": score, "rater": rater]
            if let comment { body["comment"] = comment }
            _ = try await HandoffCommand.send(connection, body)
            print("rated \(id): \(score)/5")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One hand-off: each assignee in turn, and the timeline.")
        @Argument(help: "The hand-off id.") var id: String
        @Flag(help: "Print JSON instead of a table.") var json = false
        @OptionGroup var offline: OfflineOption
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            let view: HandoffView
            if let recovery = try offline.recovery() {
                guard let handoff = recovery.book.handoffs[id] else { throw CommandFailure("no hand-off has the id '\(id)' in \(offline.directory ?? "")") }
                view = HandoffView(handoff, deliveries: recovery.deliveries, now: CommandClock.now())
            } else {
                view = try await WorkflowClient.with(connection) { try await $0.ask(.handoffShow, [QueryHeader.caseID: id], as: HandoffView.self) }
            }
            print(json ? AckTable.json(view) : WorkflowPrinter.handoff(view))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the hand-offs you dispatched or hold (coordinators and auditors: all).")
        @Flag(help: "Only those not yet completed.") var open = false
        @Flag(help: "Print JSON instead of a table.") var json = false
        @OptionGroup var offline: OfflineOption
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            let views: [HandoffView]
            if let recovery = try offline.recovery() {
                let now = CommandClock.now()
                views = recovery.book.handoffOrder.compactMap { recovery.book.handoffs[$0] }
                    .filter { !open || !["completed", "rated"].contains($0.state) }
                    .map { HandoffView($0, deliveries: recovery.deliveries, now: now) }
            } else {
                views = try await WorkflowClient.with(connection) {
                    try await $0.ask(.handoffList, open ? [QueryHeader.openOnly: "true"] : [:], as: [HandoffView].self)
                }
            }
            print(json ? AckTable.json(views) : WorkflowPrinter.handoffList(views))
        }
    }
}
