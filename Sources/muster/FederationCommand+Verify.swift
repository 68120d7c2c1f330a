import ArgumentParser
import Foundation
import MusterFederation
import MusterServer

extension FederationCommand {
    /// `muster federation verify --data A --data B --ca …`: what crossed, checked from copies of both logs.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check, from copies of two linked brokers' logs, everything that crossed between them (trusting neither broker).",
            discussion: """
                Each log must verify on its own first. Then, for each direction: every record one log holds as \
                a copy of the other's (muster-origin) is in the other log, at that offset, with the chain hash \
                the copy was taken with, and the same sender and body; every record the exporter sent and the \
                importer acknowledged is stored or refused (recorded) in the importer's log; no record claims a \
                sender of the other jurisdiction without having crossed; and every checkpoint one log holds of \
                the other's holds with that jurisdiction's CA (--ca JURISDICTION=FILE) and matches the other \
                log. Exits 1 listing each finding with its jurisdiction and offset.
                """)

        @Option(name: .customLong("data"), help: ArgumentHelp("A broker's data directory (a copy is enough); give two.", valueName: "dir"))
        var directories: [String] = []

        @Option(help: ArgumentHelp("A jurisdiction's CA file, for its broker's signed checkpoints (repeatable; each is checked only with its own jurisdiction's).",
                                   valueName: "jurisdiction=file"))
        var ca: [String] = []

        @Option(name: .customLong("checkpoint"), help: ArgumentHelp("A checkpoint kept from either broker (muster log checkpoint [--ask]); checked like those the logs hold (repeatable).",
                                                                  valueName: "file"))
        var checkpoints: [String] = []

        @Flag(help: "Fail unless every record that crossed is covered by a checkpoint its origin's broker signed (held by the other log, or given with --checkpoint).")
        var requireSignatures = false

        func validate() throws {
            guard directories.count == 2 else { throw ValidationError("give two data directories: --data A --data B") }
            for item in ca where !item.contains("=") {
                throw ValidationError("--ca \(item): name the jurisdiction the CA is for, as --ca jinshan=\(item) (another jurisdiction's CA cannot vouch for a broker)")
            }
        }

        /// Each jurisdiction's CA files.
        var authorities: [String: [String]] {
            Dictionary(grouping: ca.compactMap { item -> (String, String)? in
                guard let equals = item.firstIndex(of: "=") else { return nil }
                return (String(item[..<equals]), String(item[item.index(after: equals)...]))
            }, by: \.0).mapValues { $0.map(\.1) }
        }

        func run() throws {
            let audit: FederationAudit
            var kept: [LogCheckpoint] = []
            for file in checkpoints {
                guard let data = FileManager.default.contents(atPath: file), let checkpoint = try? JSONDecoder().decode(LogCheckpoint.self, from: data) else {
                    throw CommandFailure("\(file) is not a checkpoint as `muster log checkpoint` prints it")
                }
                kept.append(checkpoint)
            }
            do { audit = try FederationAudit.run(dataDirectories: directories, authorities: authorities, kept: kept, requireSignatures: requireSignatures) } catch {
                throw CommandFailure("cannot audit: \(error)")
            }
            guard Self.print(audit) else {
                throw CommandFailure("\(audit.findings.count) finding\(audit.findings.count == 1 ? "" : "s"): the logs do not agree on what crossed")
            }
        }

        /// Prints what crossed each way and every finding; whether there was none.
        static func print(_ audit: FederationAudit) -> Bool {
            for crossing in audit.crossings {
                Swift.print("\(crossing.from) → \(crossing.to): \(crossing.copied) records stored and \(crossing.refused) refused in \(crossing.to)'s log; "
                            + "acknowledged through \(crossing.acknowledgedThrough.map(String.init) ?? "nothing"); "
                            + "\(crossing.checkpoints) of \(crossing.from)'s checkpoints held by \(crossing.to), covering \(crossing.coveredBySignature) of the records stored")
            }
            guard !audit.findings.isEmpty else {
                Swift.print("verified: everything that crossed is in place in both logs")
                return true
            }
            for finding in audit.findings.prefix(50) { Swift.print("FAILED \(finding)") }
            if audit.findings.count > 50 { Swift.print("... and \(audit.findings.count - 50) more") }
            return false
        }
    }
}
