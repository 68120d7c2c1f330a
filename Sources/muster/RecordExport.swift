import Foundation

/// One message as exported by `muster log dump` and `muster replay`.
struct ExportedRecord {
    var offset: UInt64
    var timestamp: Int64
    var destination: String
    var sender: String
    var headers: [(String, String)]
    var body: [UInt8]
    /// The chain hash (dumps only: a replay does not see it).
    var chain: String?
    /// `message`, or `delivery` for a delivery event (dumps only).
    var kind = "message"
}

enum ExportFormat: String, CaseIterable {
    case jsonl, csv
}

/// Writes records as JSON lines or CSV (RFC 4180) to standard output.
struct RecordWriter {
    let format: ExportFormat
    private static let csvColumns = ["offset", "timestamp", "time", "destination", "sender", "headers", "body", "body-encoding", "chain", "kind"]

    init(format: ExportFormat) {
        self.format = format
        if format == .csv { print(Self.csvColumns.joined(separator: ",")) }
    }

    func write(_ record: ExportedRecord) {
        let (body, encoding) = Self.bodyText(record.body)
        switch format {
        case .jsonl:
            var headers: [String: String] = [:]
            for (name, value) in record.headers where headers[name] == nil { headers[name] = value }
            var object: [String: Any] = [
                "offset": record.offset, "timestamp": record.timestamp, "time": Self.time(record.timestamp),
                "destination": record.destination, "sender": record.sender, "headers": headers,
                encoding == "utf-8" ? "body" : "body-base64": body,
            ]
            if let chain = record.chain { object["chain"] = chain }
            if record.kind != "message" { object["kind"] = record.kind }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            print(String(decoding: data, as: UTF8.self))
        case .csv:
            let headers = record.headers.map { "\($0.0):\($0.1)" }.joined(separator: "\n")
            let fields = [String(record.offset), String(record.timestamp), Self.time(record.timestamp), record.destination,
                          record.sender, headers, body, encoding, record.chain ?? "", record.kind]
            print(fields.map(Self.csvField).joined(separator: ","))
        }
    }

    static func bodyText(_ body: [UInt8]) -> (String, String) {
        if let text = String(validating: body, as: UTF8.self) { return (text, "utf-8") }
        return (Data(body).base64EncodedString(), "base64")
    }

    static func time(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Records, bytes and rate on standard error, refreshed twice a second, when it is a terminal.
final class ProgressReporter {
    private let enabled = isatty(STDERR_FILENO) == 1
    private let started = ContinuousClock.now
    private var lastShown = ContinuousClock.now
    private var shown = false

    func update(records: Int, bytes: Int) {
        guard enabled, ContinuousClock.now - lastShown >= .milliseconds(500) else { return }
        lastShown = .now
        show(records: records, bytes: bytes)
    }

    func finish(records: Int, bytes: Int) {
        guard enabled, shown else { return }
        show(records: records, bytes: bytes)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func show(records: Int, bytes: Int) {
        shown = true
        let seconds = max(Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000, 0.001)
        let line = String(format: "\r%ld records, %.1f MiB, %.0f records/s ", records, Double(bytes) / 1_048_576, Double(records) / seconds)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
