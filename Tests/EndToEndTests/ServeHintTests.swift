import Foundation
import MusterTestSupport
import Testing

/// `muster serve` with the shipped Config/ tells a newcomer how to connect; the commands it
/// prints work as printed against the shipped policy.
@Suite("muster serve hint")
struct ServeHintTests {
    static let packageDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func thePrintedSubscribeCommandReceivesWhatThePrintedPublishCommandSends() async throws {
        // A directory laid out like a checkout (Config and Schemas), so that the shipped
        // relative paths hold; the development PKI and the log are created inside it.
        let directory = try TemporaryDirectory(prefix: "muster-serve-hint")
        defer { directory.remove() }
        try FileManager.default.createSymbolicLink(atPath: directory.file("Schemas"), withDestinationPath: "\(Self.packageDirectory)/Schemas")
        // The shipped files, but the board on a free port (another test may run a shipped broker too).
        try FileManager.default.createDirectory(atPath: directory.file("Config"), withIntermediateDirectories: true)
        let boardPort = try ShippedFederationTests.freePort()
        for file in ["muster.yaml", "muster-pinghu.yaml", "parties.yaml", "topics.yaml"] {
            let text = try String(contentsOfFile: "\(Self.packageDirectory)/Config/\(file)", encoding: .utf8)
            try text.replacingOccurrences(of: "127.0.0.1:8443", with: "127.0.0.1:\(boardPort)")
                .replacingOccurrences(of: "127.0.0.1:8444", with: "127.0.0.1:\(try ShippedFederationTests.freePort())")
                .write(toFile: directory.file("Config/\(file)"), atomically: true, encoding: .utf8)
        }
        let serve = try RunningProgram(BrokerProcess.musterExecutable(), ["serve", "--listen", "127.0.0.1:0", "--data", directory.file("data")],
                                       removingEnvironment: ["MUSTER_SERVER", "MUSTER_CERT", "MUSTER_KEY", "MUSTER_CA", BrokerClock.environmentVariable],
                                       directory: directory.path)
        defer {
            serve.terminate()
            _ = serve.waitUntilExit()
        }
        try await eventually(timeout: .seconds(60), "the connection hint of `muster serve`") {
            serve.output.contains("  stop with Ctrl-C") || !serve.isRunning
        }
        let lines = serve.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let subscribe = try #require(lines.first { $0.hasPrefix("muster sub ") }, "no `muster sub` line:\n\(serve.output)")
        let publish = try #require(lines.first { $0.hasPrefix("muster pub ") }, "no `muster pub` line:\n\(serve.output)")
        #expect(!subscribe.contains("<") && !publish.contains("<"), "the shipped configuration has development certificates:\n\(serve.output)")

        // The printed commands, word for word; `muster sub` stops after one message.
        let subscribeArguments = Array(subscribe.split(separator: " ").map(String.init).dropFirst()) + ["--count", "1"]
        let publishArguments = Array(publish.split(separator: " ").map(String.init).dropFirst())
        let destination = subscribeArguments[1]
        // A topic delivers what is published after the subscription: publish until it arrives.
        let publisher = Task {
            var runs: [ProgramRun] = []
            while !Task.isCancelled, runs.count < 60 {
                runs.append(try await runMuster(publishArguments, directory: directory.path, timeout: .seconds(30)))
                try? await Task.sleep(for: .milliseconds(250))
            }
            return runs
        }
        let run = try await runMuster(subscribeArguments, directory: directory.path, timeout: .seconds(60))
        publisher.cancel()
        let publishes = try await publisher.value
        for publication in publishes {
            #expect(publication.status == 0 && !publication.timedOut, "the printed `muster pub` works: \(publication)")
        }
        #expect(run.status == 0 && !run.timedOut, "the printed `muster sub` works:\n\(run)\n--- serve ---\n\(serve.output)")
        let message = try #require(run.stdout.split(separator: "\n").first, "\(run)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any], "\(message)")
        #expect(json["body"] as? String == publishArguments[2], "\(message)")
        #expect((json["headers"] as? [String: String])?["destination"] == destination, "\(message)")
    }
}
