import ArgumentParser
import Foundation
import MusterClient
import MusterStomp
import MusterProtocol

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pub",
        abstract: "Publish one message.",
        discussion: "The body is the BODY argument, the contents of --file, or standard input when neither is given.")

    @Argument(help: "Destination: /topic/NAME or /queue/NAME.")
    var destination: String

    @Argument(help: "Message body (text).")
    var body: String?

    @Option(help: ArgumentHelp("Read the body from this file.", valueName: "file"))
    var file: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("Extra header K=V (repeatable).", valueName: "k=v"))
    var headers: [String] = []

    @Flag(help: "Wait for the broker's receipt (the message is stored) before exiting.")
    var receipt = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        var frameHeaders = StompHeaders()
        for header in headers {
            guard let equals = header.firstIndex(of: "="), equals != header.startIndex else {
                throw ValidationError("--header '\(header)' must look like name=value")
            }
            frameHeaders.append(String(header[..<equals]), String(header[header.index(after: equals)...]))
        }
        let payload: [UInt8]
        if let body {
            payload = Array(body.utf8)
        } else if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read --file \(file)") }
            payload = Array(data)
        } else {
            payload = Array(FileHandle.standardInput.readDataToEndOfFile())
        }
        let client = try await MusterConnection.connect(try connection.clientOptions())
        try await client.publish(to: destination, body: payload, headers: frameHeaders, receipt: receipt)
        try await client.disconnect()
        if receipt { FileHandle.standardError.write(Data("stored: \(destination)\n".utf8)) }
    }
}
