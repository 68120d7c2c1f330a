import ArgumentParser
import Foundation
import MusterClient
import MusterStomp
import MusterProtocol

struct AcksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acks",
        abstract: "Who has not acknowledged what, and the history of every acknowledgement.",
        discussion: "Asks the running broker over STOMP (the acknowledgement queries of Schemas/protocol.md).",
        subcommands: [Pending.self, History.self])

    struct Pending: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List unacknowledged deliveries: party, subscription, offset, age, delivery count.")

        @Option(help: "Only this destination (/topic/NAME or /queue/NAME).")
        var destination: String?

        @Option(help: ArgumentHelp("Only deliveries to this party.", valueName: "jurisdiction/party"))
        var party: String?

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try await MusterConnection.connect(try connection.clientOptions())
            let pending = try await AckQueryClient(client).pending(destination: destination, party: party)
            try await client.disconnect()
            if json {
                print(AckTable.json(PendingAckList(pending: pending)))
                return
            }
            guard !pending.isEmpty else {
                print("nothing pending")
                return
            }
            let rows = pending.map {
                [$0.party ?? "-", $0.subscription ?? "-", $0.destination, String($0.offset), AckTable.age($0.ageMilliseconds),
                 String($0.deliveryCount), $0.state, $0.consumer]
            }
            print(AckTable.render(["PARTY", "SUBSCRIPTION", "DESTINATION", "OFFSET", "AGE", "DELIVERIES", "STATE", "CONSUMER"], rows))
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every delivery of one message to every party, and when each was acknowledged.")

        @Argument(help: "The message's offset (x-stream-offset of its MESSAGE).")
        var offset: UInt64

        @Option(help: "The message's destination.")
        var destination: String

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try await MusterConnection.connect(try connection.clientOptions())
            let history = try await AckQueryClient(client).history(offset: offset, destination: destination)
            try await client.disconnect()
            if json {
                print(AckTable.json(history))
                return
            }
            print("\(history.destination) offset \(history.offset)")
            guard !history.events.isEmpty else {
                print("no deliveries recorded")
                return
            }
            let rows = history.events.map {
                [AckTable.time($0.at), $0.event, $0.party, $0.subscription, String($0.deliveryCount), AckTable.time($0.deliveredAt),
                 $0.reason ?? ""]
            }
            print(AckTable.render(["TIME", "EVENT", "PARTY", "SUBSCRIPTION", "DELIVERY", "DELIVERED AT", "REASON"], rows))
            if !history.pending.isEmpty {
                print("still pending: " + history.pending.map { "\($0.party ?? "-") (\($0.state), delivery \($0.deliveryCount))" }.joined(separator: ", "))
            }
        }
    }
}

/// Plain text tables and JSON for the acknowledgement commands.
enum AckTable {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func age(_ milliseconds: Int64) -> String {
        let seconds = milliseconds / 1000
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m" }
        return "\(seconds / 3600)h\((seconds % 3600) / 60)m"
    }

    static func time(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
