import ArgumentParser
import Foundation
import Logging
import MusterBroker
import MusterClient
import MusterLog
import MusterNet
import MusterServer
import Synchronization

/// `muster demo`: the Jinshan–Pinghu story on a real broker over real TLS, in compressed time.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Play the Jinshan–Pinghu story on a broker of its own: a summons with one late, escalated party, a rejected and transferred hand-off, the assessment and the log's head.",
        discussion: "Starts a broker on a free 127.0.0.1 port with development certificates in a temporary directory, and one mutual-TLS connection per party. An hour of story takes 60 / --speed minutes. Run it from the project directory (it reads Config/parties.yaml, Config/topics.yaml and Schemas/).")

    @Option(help: "Story minutes per real minute.")
    var speed: Double = 120

    @Option(help: "The parties file whose jurisdictions and parties the story uses.")
    var parties = "Config/parties.yaml"

    @Option(help: "The topics file.")
    var topics = "Config/topics.yaml"

    @Option(help: "The schemas directory.")
    var schemas = "Schemas"

    @Flag(help: "Keep the temporary directory (certificates, configuration, log) and print where it is.")
    var keep = false

    @Flag(help: "Play the story on two brokers, Jinshan's and Pinghu's, linked over mutual TLS, with the line between them cut in the middle; end with `muster federation verify` over both logs.")
    var federated = false

    func validate() throws {
        guard speed >= 1, speed <= 100_000 else { throw ValidationError("--speed must be between 1 and 100000") }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-demo-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: directory) } }
        let clock = StoryClock(speed: speed)
        var logger = Logger(label: "muster-demo", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        if federated {
            // The cut line is part of the story: the links' warnings about it would only repeat it.
            logger.logLevel = .error
            return try await runFederated(in: directory, clock: clock, logger: logger)
        }
        let configuration = try DemoSetup.configuration(in: directory, certificates: "\(directory)/certs", parties: parties, topics: topics, schemas: schemas)
        try DemoSetup.certificates(for: configuration, in: "\(directory)/certs")
        let server: BrokerServer
        do {
            server = try BrokerServer(configuration: configuration, logger: logger, clock: { clock.now() }, speed: speed)
        } catch {
            throw CommandFailure("cannot start the demo broker: \(error)")
        }
        let address = try server.start()
        print("Muster demo: broker on \(address) (mutual TLS), development certificates in \(directory)/certs, speed \(Int(speed))×\n")
        do {
            let story = try await DemoStory.begin(cast: DemoStory.cast, address: { _ in address }, certificates: "\(directory)/certs", clock: clock)
            try await story.play()
            print("\nSummons \(story.summonsID), as `muster summons show \(story.summonsID)` prints it:\n")
            print(WorkflowPrinter.summons(try await story.summonsView()))
            print("\nAssessment, as `muster report --from ... --to ...` prints it:\n")
            print(WorkflowPrinter.assessmentTable(try await story.assessment()))
            await story.finish()
        } catch {
            server.shutdown()
            throw CommandFailure("the demo stopped: \(error)")
        }
        server.shutdown()
        let verified = try LogArchive(dataDirectory: configuration.dataDirectory).verify()
        print("\n`muster log verify`: verified \(verified.records) records in \(verified.segments) segment(s), \(verified.bytes) bytes")
        print("head \(verified.head.map { "\($0)" } ?? "none")")
        if keep { print("\nkept \(directory): muster summons show \(DemoStory.summonsIDHint) --data \(configuration.dataDirectory)") }
    }
}

/// Story time: it runs `speed` times as fast as the wall clock; the story's minutes count
/// from `start()` (after the connections are up).
final class StoryClock: Sendable {
    let origin = WallClock.milliseconds()
    let speed: Double
    private let begin = Mutex<Int64?>(nil)

    init(speed: Double) {
        self.speed = speed
    }

    func now() -> Int64 { origin + Int64(Double(WallClock.milliseconds() - origin) * speed) }

    /// Minute zero of the story.
    func start() { begin.withLock { $0 = now() } }

    var storyStart: Int64 { begin.withLock { $0 } ?? origin }

    /// Minutes and seconds of story: +12:30.
    func elapsed(_ time: Int64? = nil) -> String {
        let seconds = max(0, ((time ?? now()) - storyStart) / 1000)
        return String(format: "+%02d:%02d", seconds / 60, seconds % 60)
    }

    /// Waits until `minutes` of story have passed since the start.
    func wait(untilMinute minutes: Double) async throws {
        let target = storyStart + Int64(minutes * 60_000)
        let realMilliseconds = Double(target - now()) / speed
        if realMilliseconds > 0 { try await Task.sleep(for: .milliseconds(Int64(realMilliseconds.rounded(.up)))) }
    }
}

/// The demo's files: the shipped parties (with certificate paths in the temporary
/// directory), topics and schemas, and a development PKI.
enum DemoSetup {
    /// The configuration of the `jurisdiction`'s demo broker in `directory`; `more` is added to its muster.yaml.
    static func configuration(in directory: String, certificates: String, parties: String, topics: String, schemas: String,
                              jurisdiction: String = "jinshan", log: String = "{fsync: always}", more: String = "") throws -> ServerConfiguration {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for required in [parties, topics, schemas] where !FileManager.default.fileExists(atPath: required) {
            throw CommandFailure("\(required) not found: run muster demo from the project directory, or pass --parties, --topics and --schemas")
        }
        let partiesText = try String(contentsOfFile: parties, encoding: .utf8)
            .replacingOccurrences(of: ".muster/certs/", with: "\(certificates)/")
        try partiesText.write(toFile: "\(directory)/parties.yaml", atomically: true, encoding: .utf8)
        let absolute = { (path: String) in path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path }
        // The story runs on a fast clock (`--speed`): an ack-wait of 30 s would be 25 ms at 1200×,
        // shorter than an adapter's acknowledgement takes on a loaded machine. The story has no
        // redelivery in it, so its ack-wait is long in story time (6 s at 1200×).
        let settings = """
            broker: {name: \(jurisdiction)-broker, jurisdiction: \(jurisdiction)}
            listen: 127.0.0.1:0
            data-directory: \(directory)/data
            parties: \(directory)/parties.yaml
            topics: \(absolute(topics))
            schemas: \(absolute(schemas))
            log: \(log)
            tls: {certificate: \(certificates)/\(jurisdiction)/broker.crt, private-key: \(certificates)/\(jurisdiction)/broker.key, development-certificates: \(certificates)}
            heartbeat: {send-ms: 0, expect-ms: 0}
            delivery: {ack-wait: 2h}
            \(more)
            """
        try settings.write(toFile: "\(directory)/muster.yaml", atomically: true, encoding: .utf8)
        do {
            return try ServerConfiguration.load(file: "\(directory)/muster.yaml")
        } catch {
            throw CommandFailure("cannot set up the demo: \(error)")
        }
    }

    /// A development PKI for the parties of `configuration`: each jurisdiction's CA, broker and parties.
    static func certificates(for configuration: ServerConfiguration, in certificates: String) throws {
        do {
            _ = try DevelopmentPKI.create(parties: configuration.parties, brokerJurisdiction: configuration.jurisdiction, in: certificates)
        } catch {
            throw CommandFailure("cannot create the demo's certificates: \(error)")
        }
    }
}
