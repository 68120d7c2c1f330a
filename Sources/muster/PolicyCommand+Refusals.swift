import ArgumentParser
import Foundation
import MusterBroker
import MusterLog
import MusterServer

extension PolicyCommand {
    /// Counts the refusals recorded in the audit destination, per party and code: the
    /// admission-list figures of the monthly report come from here.
    struct Refusals: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count the refusals in the log's audit destination, per party and code (offline).",
            discussion: "--from/--until take offset=N, timestamp=UNIX-SECONDS or an RFC 3339 time; --until offsets are inclusive, times exclusive.")

        @OptionGroup var data: LogCommand.DataOption

        @Option(help: "First record: first, offset=N, timestamp=UNIX-SECONDS or RFC 3339 time.")
        var from: RecordBound = .first

        @Option(help: "Last record (offset, inclusive) or end time (exclusive).")
        var until: RecordBound?

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            var counts: [String: [String: Int]] = [:]
            let audit = RefusalRecord.destination.description
            let decoder = JSONDecoder()
            do {
                try LogArchive(dataDirectory: data.directory).forEach(progress: { _, _ in }) { record in
                    if let until, !until.admitsUntil(offset: record.offset, timestamp: record.timestamp) { return false }
                    guard record.destination == audit, from.admitsFrom(offset: record.offset, timestamp: record.timestamp),
                          let message = StoredMessage(record: record),
                          let refusal = try? decoder.decode(RefusalRecord.self, from: Data(message.publication.body)) else { return true }
                    let party = refusal.party.map { "\(refusal.jurisdiction ?? "?")/\($0)" } ?? "(no identity)"
                    counts[party, default: [:]][refusal.code, default: 0] += 1
                    return true
                }
            } catch {
                throw CommandFailure("cannot read the log: \(error)")
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(counts), as: UTF8.self))
                return
            }
            guard !counts.isEmpty else {
                print("no refusals recorded")
                return
            }
            let codes = Set(counts.values.flatMap(\.keys)).sorted()
            let header = ["party"] + codes + ["total"]
            let rows = counts.keys.sorted().map { party -> [String] in
                let row = counts[party]!
                return [party] + codes.map { String(row[$0] ?? 0) } + [String(row.values.reduce(0, +))]
            }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            for line in [header] + rows {
                print(line.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
            }
        }
    }
}
