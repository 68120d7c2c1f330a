import ArgumentParser
import Foundation
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
                the other's holds with the CA files given (--ca, one per jurisdiction) and matches the other \
                log. Exits 1 listing each finding with its jurisdiction and offset.
                """)

        @Option(name: .customLong("data"), help: ArgumentHelp("A broker's data directory (a copy is enough); give two.", valueName: "dir"))
        var directories: [String] = []

        @Option(help: ArgumentHelp("A jurisdiction's CA file, for the signed checkpoints (repeatable).", valueName: "file"))
        var ca: [String] = []

        func validate() throws {
            guard directories.count == 2 else { throw ValidationError("give two data directories: --data A --data B") }
        }

        func run() throws {
            let audit: FederationAudit
            do { audit = try FederationAudit.run(dataDirectories: directories, authorityFiles: ca) } catch {
                throw CommandFailure("cannot audit: \(error)")
            }
            for crossing in audit.crossings {
                print("\(crossing.from) → \(crossing.to): \(crossing.copied) records stored and \(crossing.refused) refused in \(crossing.to)'s log; "
                      + "acknowledged through \(crossing.acknowledgedThrough.map(String.init) ?? "nothing"); "
                      + "\(crossing.checkpoints) of \(crossing.from)'s checkpoints held by \(crossing.to), covering \(crossing.coveredBySignature) of the records stored")
            }
            if ca.isEmpty, audit.crossings.contains(where: { $0.checkpoints > 0 }) {
                print("note: without --ca the checkpoints' signatures cannot be checked (each is reported)")
            }
            guard !audit.findings.isEmpty else {
                print("verified: everything that crossed is in place in both logs")
                return
            }
            for finding in audit.findings.prefix(50) { print("FAILED \(finding)") }
            if audit.findings.count > 50 { print("... and \(audit.findings.count - 50) more") }
            throw CommandFailure("\(audit.findings.count) finding\(audit.findings.count == 1 ? "" : "s"): the logs do not agree on what crossed")
        }
    }
}
