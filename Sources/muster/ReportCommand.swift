import ArgumentParser
import Foundation
import MusterBroker
import MusterStomp
import MusterProtocol
import MusterWorkflow

/// `muster report`: the assessment (考核) of each party over a period.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The assessment per party: summonses, on-time report-ins, hand-offs, ratings, admission refusals.",
        discussion: "Asks the broker, or with --data computes the same from a copy of the log (an auditor's check: the two agree). A summons counts in the period it was opened, a hand-off in the period it was dispatched.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @Option(help: "Start of the period: a date (2026-11-01, local midnight) or an RFC 3339 time.")
    var from: String

    @Option(help: "End of the period (exclusive).")
    var to: String

    @Option(help: "Only the parties of this jurisdiction.")
    var jurisdiction: String?

    @Option(help: "table, json or csv.")
    var format: Format = .table

    @OptionGroup var offline: OfflineOption
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let start = try WorkflowText.milliseconds(from), end = try WorkflowText.milliseconds(to)
        guard end > start else { throw ValidationError("--to must be after --from") }
        let assessment: Assessment
        if let recovery = try offline.recovery() {
            assessment = Assessment(book: recovery.book, from: start, to: end, jurisdiction: jurisdiction, now: CommandClock.now())
        } else {
            var parameters: StompHeaders = [QueryHeader.from: String(start), QueryHeader.to: String(end)]
            if let jurisdiction { parameters[QueryHeader.jurisdiction] = jurisdiction }
            let query = parameters
            assessment = try await WorkflowClient.with(connection) { try await $0.ask(.assessment, query, as: Assessment.self) }
        }
        switch format {
        case .table: print(WorkflowPrinter.assessmentTable(assessment))
        case .json: print(AckTable.json(assessment))
        case .csv: print(WorkflowPrinter.assessmentCSV(assessment))
        }
    }
}
