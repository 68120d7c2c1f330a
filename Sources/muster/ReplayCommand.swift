import ArgumentParser
import Foundation
import MusterClient
import MusterProtocol

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a destination's messages from the broker's log (for a party allowed to read it).",
        discussion: """
            Subscribes with x-stream-offset (--from) and muster-until (--until; default: up to the newest \
            message now) and prints each message, stopping at the broker's end marker. Bounds take \
            offset=N, timestamp=UNIX-SECONDS or an RFC 3339 time.
            """)

    @Argument(help: "Destination: /topic/NAME or /queue/NAME.")
    var destination: String

    @Option(help: "First message: first, offset=N, timestamp=UNIX-SECONDS or RFC 3339 time.")
    var from: RecordBound = .first

    @Option(help: "Last offset (inclusive) or end time (exclusive); default: the newest message now.")
    var until: RecordBound?

    @Option(help: "jsonl or csv.")
    var format: ExportFormat = .jsonl

    @Option(help: "Messages in flight before the broker waits for acknowledgements.")
    var prefetch = 500

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        if case .first = until { throw ValidationError("--until must be offset=N or a time") }
        guard prefetch > 0 else { throw ValidationError("--prefetch must be at least 1") }
        let client = try await MusterConnection.connect(try connection.clientOptions())
        let subscription = try await client.subscribe(to: destination, ack: .client, headers: [
            "x-stream-offset": from.headerValue,
            ReplayHeader.until: until?.headerValue ?? "head",
            "prefetch-count": String(prefetch),
        ])
        let writer = RecordWriter(format: format)
        let progress = ProgressReporter()
        var count = 0, bytes = 0, unacknowledged = 0
        for try await message in subscription {
            writer.write(ExportedRecord(message))
            count += 1
            bytes += message.body.count
            unacknowledged += 1
            progress.update(records: count, bytes: bytes)
            // Cumulative acks, once per half window, keep the broker streaming.
            if unacknowledged >= max(prefetch / 2, 1) {
                try await client.ack(message)
                unacknowledged = 0
            }
        }
        fflush(nil)
        progress.finish(records: count, bytes: bytes)
        try await client.disconnect()
    }
}

extension ExportedRecord {
    init(_ message: ReceivedMessage) {
        let headers = message.headers
        let owned: Set<String> = ["subscription", "message-id", "destination", "ack", "redelivered", "x-stream-offset",
                                  ReservedHeader.deliveryCount, ReservedHeader.sender, ReservedHeader.senderJurisdiction, ReservedHeader.timestamp,
                                  "content-length"]
        self.init(offset: headers["x-stream-offset"].flatMap { UInt64($0) } ?? 0,
                  timestamp: headers[ReservedHeader.timestamp].flatMap { Int64($0) } ?? 0,
                  destination: headers["destination"] ?? "",
                  sender: "\(headers[ReservedHeader.senderJurisdiction] ?? "")/\(headers[ReservedHeader.sender] ?? "")",
                  headers: headers.filter { !owned.contains($0.0) }.map { ($0.0, $0.1) },
                  body: message.body, chain: nil)
    }
}
