import ArgumentParser
import Foundation
import MusterClient
import MusterProtocol

struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sub",
        abstract: "Subscribe and print each message as one JSON object per line.",
        discussion: #"Each line is {"headers":{...},"body":"..."}; a body that is not UTF-8 is given as "body-base64"."#)

    @Argument(help: "Destination: /topic/NAME or /queue/NAME.")
    var destination: String

    @Option(help: "Ack mode: auto, client or client-individual (messages are acked after printing).")
    var ack = "auto"

    @Option(help: "Exit after this many messages.")
    var count: Int?

    @Option(name: .customLong("header"), help: ArgumentHelp("Extra SUBSCRIBE header K=V (repeatable).", valueName: "k=v"))
    var headers: [String] = []

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let mode = MusterConnection.AckMode(rawValue: ack) else {
            throw ValidationError("--ack must be auto, client or client-individual")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        var extra: [(String, String)] = []
        for header in headers {
            let parts = header.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--header '\(header)' must look like name=value") }
            extra.append((String(parts[0]), String(parts[1])))
        }
        let client = try await MusterConnection.connect(try connection.clientOptions())
        let subscription = try await client.subscribe(to: destination, ack: mode, headers: .init(extra))
        var received = 0
        for try await message in subscription {
            print(MessageJSON.line(for: message))
            fflush(nil)
            if mode != .auto { try await client.ack(message) }
            received += 1
            if let count, received >= count { break }
        }
        try await client.disconnect()
    }
}

enum MessageJSON {
    /// One JSON object: headers (first value of each name) and the body.
    static func line(for message: ReceivedMessage) -> String {
        var headers: [String: String] = [:]
        for (name, value) in message.headers where headers[name] == nil { headers[name] = value }
        var object: [String: Any] = ["headers": headers]
        if let text = String(validating: message.body, as: UTF8.self) {
            object["body"] = text
        } else {
            object["body-base64"] = Data(message.body).base64EncodedString()
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
