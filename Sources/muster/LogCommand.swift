import ArgumentParser
import Foundation
import MusterBroker
import MusterFederation
import MusterLog
import MusterServer

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Inspect the broker's log on disk (offline; the broker may be running or not).",
        subcommands: [Verify.self, Checkpoint.self, Dump.self, Repair.self])

    struct DataOption: ParsableArguments {
        @Option(name: .customLong("data"), help: ArgumentHelp("The broker's data directory (data-directory in muster.yaml).", valueName: "dir"))
        var directory = ".muster/data"
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every record's CRC and the whole hash chain; print the record count and the head.",
            discussion: """
                Write the printed head (OFFSET:HASH) down; later, --expect-head OFFSET:HASH checks that \
                everything up to it is unchanged. Exits 1 naming the first bad offset.
                """)

        @OptionGroup var data: DataOption

        @Option(help: ArgumentHelp("An earlier head that must still be part of the log.", valueName: "offset:hash"))
        var expectHead: String?

        @Option(help: ArgumentHelp("A signed checkpoint (`muster log checkpoint`) the log must still pass through; needs --ca.", valueName: "file"))
        var checkpoint: String?

        @Option(help: ArgumentHelp("The CA file of the checkpoint's jurisdiction (repeatable).", valueName: "file"))
        var ca: [String] = []

        func run() throws {
            var expected: LogHead?
            var signed: (checkpoint: LogCheckpoint, signer: String)?
            if let checkpoint {
                guard expectHead == nil else { throw ValidationError("give --checkpoint or --expect-head, not both") }
                signed = try LogCommand.signedCheckpoint(checkpoint, authorities: ca, dataDirectory: data.directory)
                expected = signed?.checkpoint.head
            }
            if let expectHead {
                guard let head = LogHead(expectHead) else {
                    throw ValidationError("--expect-head must be OFFSET:HASH as `muster log verify` prints it (64 hex digits)")
                }
                expected = head
            }
            let progress = ProgressReporter()
            let result: LogVerification
            do {
                result = try LogArchive(dataDirectory: data.directory).verify(expectHead: expected) { progress.update(records: $0, bytes: $1) }
            } catch {
                throw CommandFailure("verification failed: \(error)")
            }
            progress.finish(records: result.records, bytes: result.bytes)
            if let pruned = result.prunedHead {
                print("verified from pruned head \(pruned) (older segments were deleted by retention)")
            }
            print("verified \(result.records) records in \(result.segments) segment(s), \(result.bytes) bytes")
            print("head \(result.head.map { "\($0)" } ?? "none (the log is empty)")")
            if let expected { print("expected head \(expected) is part of the log") }
            if let identity = LogIdentity.read(dataDirectory: data.directory) {
                print("log \(identity.logID) of jurisdiction \(identity.jurisdiction), identity record at offset \(identity.offset)")
            }
            if let signed {
                print("checkpoint signed by \(signed.signer) at \(WorkflowText.time(signed.checkpoint.time)) holds: the log still passes through "
                      + "\(signed.checkpoint.offset):\(signed.checkpoint.chain)")
            }
            if let torn = result.tornTail {
                FileHandle.standardError.write(Data("note: \(torn); the broker cuts it off when it starts (it never got a receipt)\n".utf8))
            }
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export records (offline) as JSON lines or CSV, for forensic work.",
            discussion: "--from/--until take offset=N, timestamp=UNIX-SECONDS or an RFC 3339 time; --until offsets are inclusive, times exclusive.")

        @OptionGroup var data: DataOption

        @Option(help: "First record: first, offset=N, timestamp=UNIX-SECONDS or RFC 3339 time.")
        var from: RecordBound = .first

        @Option(help: "Last record (offset, inclusive) or end time (exclusive).")
        var until: RecordBound?

        @Option(help: "Only this destination (or a prefix ending in *).")
        var destination: String?

        @Option(help: "jsonl or csv.")
        var format: ExportFormat = .jsonl

        @Option(help: "all, messages, or deliveries (the delivery and acknowledgement records).")
        var kinds: DumpKinds = .all

        func run() throws {
            let writer = RecordWriter(format: format)
            let progress = ProgressReporter()
            var exported = 0, bytes = 0
            do {
                try LogArchive(dataDirectory: data.directory).forEach(progress: { _, _ in }) { record in
                    bytes += record.size
                    progress.update(records: exported, bytes: bytes)
                    if let until, !until.admitsUntil(offset: record.offset, timestamp: record.timestamp) { return false }
                    guard from.admitsFrom(offset: record.offset, timestamp: record.timestamp),
                          destinationMatches(record.destination) else { return true }
                    if let message = StoredMessage(record: record), kinds.includesMessages {
                        writer.write(ExportedRecord(message, chain: record.chain.hex))
                    } else if record.kind == .delivery, kinds.includesDeliveries {
                        // A line per event: a batch record's events share its offset and chain hash. A
                        // record that holds no readable event is shown as it is, not left out.
                        let events = LedgerEvent.events(in: record)
                        for event in events {
                            writer.write(ExportedRecord(offset: record.offset, timestamp: record.timestamp, destination: record.destination,
                                                        sender: "", headers: event.singleFormHeaders, body: [],
                                                        chain: record.chain.hex, kind: "delivery"))
                        }
                        if events.isEmpty {
                            writer.write(ExportedRecord(offset: record.offset, timestamp: record.timestamp, destination: record.destination,
                                                        sender: "", headers: record.headers.map { ($0.name, $0.value) }, body: record.body,
                                                        chain: record.chain.hex, kind: "delivery"))
                        }
                    } else {
                        return true
                    }
                    exported += 1
                    return true
                }
            } catch {
                fflush(nil)
                throw CommandFailure("dump stopped: \(error)")
            }
            progress.finish(records: exported, bytes: bytes)
        }

        private func destinationMatches(_ name: String) -> Bool {
            guard let destination else { return true }
            if destination.hasSuffix("*") { return name.hasPrefix(destination.dropLast()) }
            return name == destination
        }
    }
}

extension ExportFormat: ExpressibleByArgument {}

enum DumpKinds: String, CaseIterable, ExpressibleByArgument {
    case all, messages, deliveries

    var includesMessages: Bool { self != .deliveries }
    var includesDeliveries: Bool { self != .messages }
}

extension ExportedRecord {
    init(_ message: StoredMessage, chain: String?) {
        let publication = message.publication
        self.init(offset: message.offset, timestamp: message.timestamp, destination: publication.destination.description,
                  sender: publication.sender.description, headers: publication.headers.map { ($0.0, $0.1) },
                  body: publication.body, chain: chain)
    }
}
