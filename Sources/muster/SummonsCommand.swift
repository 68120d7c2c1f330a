import ArgumentParser
import Foundation
import MusterBroker
import MusterProtocol
import MusterWorkflow

/// `muster summons list|show|progress|close`.
struct SummonsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summons",
        abstract: "See who has reported in and who is late; add progress notes; close a summons.",
        subcommands: [List.self, Show.self, Progress.self, Close.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the summonses you took part in (coordinators and auditors: all).")

        @Flag(help: "Only open summonses.")
        var open = false

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @OptionGroup var offline: OfflineOption
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let views: [SummonsView]
            if let recovery = try offline.recovery() {
                let now = CommandClock.now()
                views = recovery.book.summonsOrder.compactMap { recovery.book.summonses[$0] }.filter { !open || $0.state == "open" }
                    .map { SummonsView($0, deliveries: recovery.deliveries, now: now) }
            } else {
                views = try await WorkflowClient.with(connection) {
                    try await $0.ask(.summonsList, open ? [QueryHeader.openOnly: "true"] : [:], as: [SummonsView].self)
                }
            }
            print(json ? AckTable.json(views) : WorkflowPrinter.summonsList(views))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One summons: per party delivered, acknowledged, reported in, late by, escalation, evaluation; then the timeline.")

        @Argument(help: "The summons id.")
        var id: String

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @OptionGroup var offline: OfflineOption
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let view: SummonsView
            if let recovery = try offline.recovery() {
                guard let summons = recovery.book.summonses[id] else { throw CommandFailure("no summons has the id '\(id)' in \(offline.directory ?? "")") }
                view = SummonsView(summons, deliveries: recovery.deliveries, now: CommandClock.now())
            } else {
                view = try await WorkflowClient.with(connection) { try await $0.ask(.summonsShow, [QueryHeader.caseID: id], as: SummonsView.self) }
            }
            print(json ? AckTable.json(view) : WorkflowPrinter.summons(view))
        }
    }

    struct Progress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a progress note (the summoner or a summoned party).")

        @Argument(help: "The summons id.")
        var id: String

        @Option(help: "How the matter stands.")
        var note: String

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await WorkflowClient.with(connection) {
                try await $0.send(.summons, to: "/topic/summons", body: ["action": "progress", "summonsId": id, "note": note])
            }
            print("noted on \(id)")
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a summons you blew, with its resolution (事不完、人不撤: until then it stays open).")

        @Argument(help: "The summons id.")
        var id: String

        @Option(help: "How the matter was resolved.")
        var resolution: String

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await WorkflowClient.with(connection) {
                try await $0.send(.summons, to: "/topic/summons", body: ["action": "close", "summonsId": id, "resolution": resolution])
            }
            print("closed \(id)")
        }
    }
}
