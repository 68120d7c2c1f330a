import ArgumentParser
import Foundation
import MusterBroker
import MusterClient
import MusterServer
import MusterStomp
import MusterProtocol
import MusterWorkflow

/// What the workflow commands share: sending a typed message and reading the id the broker
/// assigned from its RECEIPT, asking the workflow queries, or reading a data directory offline.
struct WorkflowClient {
    let connection: MusterConnection

    /// Connects, runs `body`, disconnects (also when `body` throws).
    static func with<Result>(_ options: ConnectionOptions, _ body: (WorkflowClient) async throws -> Result) async throws -> Result {
        let client = WorkflowClient(connection: try await MusterConnection.connect(try options.clientOptions()))
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Sends `body` as a message of `type` and waits for the durable RECEIPT; returns the
    /// summons, hand-off or operation id it names.
    @discardableResult
    func send(_ type: WorkflowType, to destination: String, body: [String: Any]) async throws -> String {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let frame = StompFrame(.send, headers: ["destination": destination, ReservedHeader.type: type.rawValue,
                                                "content-type": "application/json;charset=utf-8"], body: Array(data))
        let receipt = try await connection.send(frame, awaitingReceipt: true)
        return receipt[WorkflowHeader.id] ?? ""
    }

    func ask<Answer: Decodable>(_ kind: AckQuery.Kind, _ parameters: StompHeaders = [:], as type: Answer.Type) async throws -> Answer {
        var query = parameters
        query[QueryHeader.kind] = kind.rawValue
        let body = try await AckQueryClient(connection).ask(query)
        return try JSONDecoder().decode(Answer.self, from: Data(body))
    }

    func close() async {
        try? await connection.disconnect()
    }
}

/// `--data DIR`: compute from a copy of the log instead of asking the broker.
struct OfflineOption: ParsableArguments {
    @Option(name: .customLong("data"), help: ArgumentHelp("Compute offline from this data directory (a copy of the broker's) instead of asking the broker.", valueName: "dir"))
    var directory: String?

    func recovery() throws -> WorkflowRecovery? {
        guard let directory else { return nil }
        do {
            return try WorkflowRecovery.read(dataDirectory: directory)
        } catch {
            throw CommandFailure("cannot read the log in \(directory): \(error)")
        }
    }
}

enum WorkflowText {
    /// A duration (`DurationText`: 30m, 2h, 1d, 1h30m, PT30M) → ISO 8601 (PT30M), as workflow messages carry it.
    static func isoDuration(_ text: String) throws -> String {
        guard let milliseconds = DurationText.milliseconds(text) else {
            throw ValidationError("'\(text)' is not a duration such as \(DurationText.examples)")
        }
        guard let iso = DurationText.iso8601(milliseconds: milliseconds) else {
            throw ValidationError("'\(text)' is not a whole number of seconds; workflow times count whole seconds")
        }
        return iso
    }

    /// A date (2026-11-01, local midnight), an RFC 3339 time, or a duration from now (for --due).
    static func milliseconds(_ text: String, relativeTo now: Int64 = CommandClock.now()) throws -> Int64 {
        if let value = WorkflowTime.milliseconds(rfc3339: text) { return value }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd"
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        if let milliseconds = DurationText.milliseconds(text) { return now + milliseconds }
        throw ValidationError("'\(text)' is not a date (2026-11-01), an RFC 3339 time or a duration (2h)")
    }

    /// Local wall-clock time for tables: 2026-11-21 09:40:05.
    static func time(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "-" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    static func clock(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "-" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
