import ArgumentParser
import Foundation
import MusterLog
import MusterServer

extension LogCommand {
    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut the log at a damaged record, keeping the cut bytes in a quarantine file (offline; stop the broker first).",
            discussion: """
                When `muster serve` refuses to start because a record of its log is damaged (`muster log verify` \
                names its offset), and the segment cannot be restored from a backup or replica, this gives up \
                that record and every record after it. The bytes are first copied to \
                log/SEGMENT.quarantine-OFFSET-TIME next to the segment (later segments are renamed the same \
                way), then the segment is cut, and the repair is appended to DIR/repairs (time, offset, reason, \
                quarantine files, the new head, who ran it). Without --force it cuts only from the first damaged \
                record; it never cuts past it, and it refuses while the broker runs.
                """)

        @OptionGroup var data: DataOption

        @Option(help: ArgumentHelp("The first record to give up: the damaged record's offset, as `muster log verify` names it.", valueName: "offset"))
        var truncateFrom: UInt64

        @Flag(help: "Cut from --truncate-from although the record there checks out (records before the damage, or a log that verifies).")
        var force = false

        @Option(help: "A note kept with the repair in DIR/repairs (a ticket, who decided).")
        var note: String?

        func run() throws {
            let outcome: LogRepairOutcome
            do {
                outcome = try LogRepair(dataDirectory: data.directory).truncate(from: truncateFrom, force: force, note: note)
            } catch LogError.locked(_, let holder) {
                let who = holder.map { "the broker (process \($0))" } ?? "a broker"
                throw CommandFailure("\(who) is running on \(data.directory): stop it before repairing its log; nothing was cut")
            } catch let refusal as LogRepairRefusal {
                throw CommandFailure("repair refused: \(refusal)")
            } catch {
                throw CommandFailure("repair failed: \(error)")
            }
            if let damage = outcome.damage, !outcome.forced {
                print("damaged record at \(damage)")
            } else if let damage = outcome.damage {
                print("forced: the first damage is at \(damage)")
            } else {
                print("forced: the log verified")
            }
            print("cut the log from offset \(outcome.offset) (segment \(outcome.segment), byte \(outcome.position)): \(outcome.removedBytes) bytes removed")
            for file in outcome.quarantine { print("kept the removed bytes in \(file)") }
            print("the log now holds \(outcome.records) records, head \(outcome.head.map { "\($0)" } ?? "none (the log is empty)")")
            print("recorded in \(data.directory)/\(LogRepair.recordFile)")
        }
    }
}
