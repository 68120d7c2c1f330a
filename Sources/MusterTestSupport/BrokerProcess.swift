import Foundation
import Glibc
import Testing
public import MusterClient
public import MusterNet

/// A real `muster serve` process on 127.0.0.1 with a test PKI and a fresh data directory.
public final class BrokerProcess: Sendable {
    public let directory: TemporaryDirectory
    public let pki: TestPKI
    public let address: SocketAddress
    /// The muster.yaml this process was started with.
    public let configFile: String
    /// The broker's clock (MUSTER_TEST_CLOCK): the wall clock unless the test chose a faster one.
    public let clock: BrokerClock
    private let program: RunningProgram

    /// The parties the test broker knows.
    public static let parties: [(id: String, jurisdiction: String, kind: String)] = [
        ("langxia-town", "jinshan", "township"),
        ("jinshan-public-security", "jinshan", "department"),
        ("shanta-village-grid", "jinshan", "grid"),
        ("guangchen-town", "pinghu", "township"),
        ("discipline-inspector", "jinshan", "auditor"),
        ("joint-command", "jinshan", "coordinator"),
        ("pinghu-public-security", "pinghu", "department"),
        ("xinhua-village-grid", "pinghu", "grid"),
        ("xitang-town", "jiashan", "township"),
        ("metrics-scraper", "jinshan", "monitor"),
    ]

    /// The parties' names, as agencies write them (the board shows them).
    public static let names = [
        "langxia-town": "廊下镇", "jinshan-public-security": "金山公安分局", "shanta-village-grid": "山塘村网格", "guangchen-town": "广陈镇",
        "discipline-inspector": "纪检监察", "joint-command": "毗邻联合指挥部", "pinghu-public-security": "平湖市公安局", "xitang-town": "西塘镇",
        "metrics-scraper": "监控采集", "xinhua-village-grid": "新华村网格",
    ]

    /// Who hears of each party's missed deadlines (escalations).
    public static let supervisors = ["jinshan-public-security": "langxia-town", "pinghu-public-security": "guangchen-town",
                                     "shanta-village-grid": "langxia-town", "xinhua-village-grid": "guangchen-town"]

    /// The shipped Config/topics.yaml: typed workflow topics, inboxes and admission lists.
    public static var shippedTopics: String {
        let file = URL(fileURLWithPath: schemasDirectory).deletingLastPathComponent().appendingPathComponent("Config/topics.yaml").path
        return (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    }

    /// A topics file that lets every party publish and subscribe everywhere.
    public static let openTopics = """
        topics:
          - {destination: "/topic/**", publish: all, subscribe: all}
          - {destination: "/queue/**", publish: all, subscribe: all}
        """

    /// The repository's `Schemas` directory (the shipped message types).
    public static let schemasDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Schemas").path

    /// Starts the broker and waits until it listens. `settings` is appended to muster.yaml;
    /// `topics` is the topics file (default: everything open); `clock` is the broker's clock.
    public static func start(settings: String = "", topics: String = openTopics, clock: BrokerClock = .wall) throws -> BrokerProcess {
        try start(in: TemporaryDirectory(prefix: "muster-broker"), settings: settings, topics: topics, clock: clock)
    }

    /// Starts a broker in an existing directory (its data directory is `DIRECTORY/data`, which
    /// may already hold a log), creating the PKI and the settings files there. `startupTimeout`
    /// bounds the wait for it to listen (opening a big log verifies all of it first).
    /// `fileSizeLimit` runs it under `prlimit --fsize` (bytes), so that log writes past it fail
    /// as they would on a full disk.
    ///
    /// A broker of another `jurisdiction`, or one that links with peers, shares a `pki` with
    /// them and serves with its own broker certificate (`muster://JURISDICTION/broker`).
    public static func start(in directory: TemporaryDirectory, settings: String = "", topics: String = openTopics,
                             clock: BrokerClock = .wall, startupTimeout: Duration = .seconds(30),
                             fileSizeLimit: Int? = nil, jurisdiction: String = "jinshan", pki shared: TestPKI? = nil) throws -> BrokerProcess {
        let pki = try shared ?? TestPKI(in: directory.path)
        let certificate = shared == nil && jurisdiction == "jinshan" ? (pki.serverCertificate, pki.serverKey)
            : try pki.brokerCertificate(jurisdiction: jurisdiction).pair
        let clock = try clock.placed(at: directory.file("clock"))
        let partiesFile = try directory.write(partiesText(pki: pki), to: "parties.yaml")
        let topicsFile = try directory.write(topics, to: "topics.yaml")
        let configFile = try directory.write("""
            broker: {name: test-broker, jurisdiction: \(jurisdiction)}
            listen: 127.0.0.1:0
            data-directory: \(dataDirectory(in: directory))
            parties: \(partiesFile)
            topics: \(topicsFile)
            schemas: \(schemasDirectory)
            tls: {certificate: \(certificate.0), private-key: \(certificate.1)}
            \(settings)
            """, to: "muster.yaml")
        return try launch(directory: directory, pki: pki, configFile: configFile, clock: clock, startupTimeout: startupTimeout,
                          fileSizeLimit: fileSizeLimit)
    }

    /// Starts a new broker process on the same directory, PKI, settings and data directory
    /// (after `kill()` or `stop(removingDirectory: false)`). It listens on a new port, on the
    /// same clock unless `clock` says otherwise (e.g. `self.clock.advanced(by:)`: time that
    /// passed while it was down).
    public func restart(clock: BrokerClock? = nil, startupTimeout: Duration = .seconds(30)) throws -> BrokerProcess {
        try Self.launch(directory: directory, pki: pki, configFile: configFile, clock: clock ?? self.clock, startupTimeout: startupTimeout)
    }

    private static func launch(directory: TemporaryDirectory, pki: TestPKI, configFile: String, clock: BrokerClock,
                               startupTimeout: Duration, fileSizeLimit: Int? = nil) throws -> BrokerProcess {
        let serve = ["serve", "--config", configFile, "--log-level", "debug"]
        let program: RunningProgram
        if let fileSizeLimit {
            program = try RunningProgram("/usr/bin/prlimit", ["--fsize=\(fileSizeLimit)", "--", musterExecutable()] + serve,
                                         environment: clock.environment, removingEnvironment: [BrokerClock.environmentVariable])
        } else {
            program = try RunningProgram(musterExecutable(), serve, environment: clock.environment,
                                         removingEnvironment: [BrokerClock.environmentVariable])
        }
        guard program.blockUntilOutput(containing: " listening on ", timeout: startupTimeout) else {
            program.terminate()
            let why = program.isRunning ? "did not start listening within \(startupTimeout)" : "did not start"
            throw BrokerProcessError(message: "the broker \(why)", log: program.output)
        }
        let log = program.output
        guard let address = Self.listeningAddress(in: log) else {
            program.terminate()
            throw BrokerProcessError(message: "the broker did not start", log: log)
        }
        return BrokerProcess(directory: directory, pki: pki, configFile: configFile, clock: clock, address: address, program: program)
    }

    private init(directory: TemporaryDirectory, pki: TestPKI, configFile: String, clock: BrokerClock, address: SocketAddress,
                 program: RunningProgram) {
        self.directory = directory
        self.pki = pki
        self.configFile = configFile
        self.clock = clock
        self.address = address
        self.program = program
    }

    /// The parties file: every test jurisdiction (optionally with CRL files) and `parties`.
    public static func partiesText(pki: TestPKI, revocationLists: [String: String] = [:],
                                   parties: [(id: String, jurisdiction: String, kind: String)] = parties) -> String {
        let entries = parties.map { party in
            "  - {id: \(party.id), jurisdiction: \(party.jurisdiction), kind: \(party.kind)"
                + (names[party.id].map { ", name: \"\($0)\"" } ?? "")
                + (supervisors[party.id].map { ", supervisor: \($0)" } ?? "") + "}"
        }.joined(separator: "\n")
        func crl(_ jurisdiction: String) -> String { revocationLists[jurisdiction].map { ", crl: \($0)" } ?? "" }
        return """
            jurisdictions:
              - {id: jinshan, name: Jinshan, ca: \(pki.jinshanAuthority)\(crl("jinshan"))}
              - {id: pinghu, name: Pinghu, ca: \(pki.pinghuAuthority)\(crl("pinghu"))}
              - {id: jiashan, name: Jiashan, ca: \(pki.jiashanAuthority)\(crl("jiashan"))}
            parties:
            \(entries)
            """
    }

    /// Replaces the parties file or the topics file (for a reload).
    public func rewrite(parties: String? = nil, topics: String? = nil) throws {
        if let parties { _ = try directory.write(parties, to: "parties.yaml") }
        if let topics { _ = try directory.write(topics, to: "topics.yaml") }
    }

    /// Sends SIGHUP and waits for the broker's answer: "reloaded", or "rejected: WHY".
    public func reload(timeout: Duration = .seconds(10)) async throws -> String {
        let outcomeFile = "\(dataDirectory)/reload-outcome"
        // "SEQUENCE TIME OUTCOME"
        func outcome() -> (sequence: Int, text: String)? {
            guard let text = try? String(contentsOfFile: outcomeFile, encoding: .utf8), let sequence = Int(text.prefix { $0 != " " }) else { return nil }
            return (sequence, text.split(separator: " ", maxSplits: 2).dropFirst(2).joined().trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let before = outcome()?.sequence ?? 0
        program.send(signal: SIGHUP)
        var answer = ""
        try await eventually(timeout: timeout, "the broker's answer to SIGHUP") {
            guard let now = outcome(), now.sequence > before else { return false }
            answer = now.text
            return true
        }
        return answer
    }

    /// Moves the broker's clock (one `BrokerClock.movedByHand`) on by `milliseconds`, and has the
    /// broker look at it at once: a reload runs its workflow timers, which write what fell due.
    public func advanceClock(by milliseconds: Int64) async throws {
        try clock.advance(by: milliseconds)
        let outcome = try await reload()
        guard outcome == "reloaded" else { throw BrokerProcessError(message: "the reload after moving the clock: \(outcome)", log: log) }
    }

    /// Everything the broker printed so far.
    public var log: String { program.output }

    /// Connection options for a party (issuing its certificate on first use).
    public func options(for party: String, jurisdiction: String = "jinshan", heartbeat: Int = 0) throws -> ClientOptions {
        let files = try pki.client(party, jurisdiction: jurisdiction)
        return ClientOptions(server: address, identity: ClientIdentity(certificatePath: files.certificate, privateKeyPath: files.key,
                                                                       trustedAuthorityPaths: [files.authority]),
                             heartbeatSend: heartbeat, heartbeatWant: heartbeat)
    }

    public func connect(_ party: String, jurisdiction: String = "jinshan") async throws -> MusterConnection {
        try await MusterConnection.connect(try options(for: party, jurisdiction: jurisdiction))
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status. Removes the
    /// directory (PKI, settings and data) unless `removingDirectory` is false.
    @discardableResult
    public func stop(removingDirectory: Bool = true) -> Int32 {
        program.send(signal: SIGTERM)
        let status = program.waitUntilExit()
        if removingDirectory { directory.remove() }
        return status
    }

    /// Sends SIGKILL (no shutdown of any kind) and waits for the process to end. The directory stays.
    public func kill() {
        program.send(signal: SIGKILL)
        program.waitUntilExit()
    }

    public var isRunning: Bool { program.isRunning }

    public var processIdentifier: Int32 { program.processIdentifier }

    /// The broker's data directory (`data-directory` in its muster.yaml).
    public var dataDirectory: String { Self.dataDirectory(in: directory) }

    public static func dataDirectory(in directory: TemporaryDirectory) -> String { directory.file("data") }

    /// The process's resident set size in bytes (VmRSS in /proc/PID/status); nil once it has ended.
    public var residentBytes: Int? {
        guard program.isRunning,
              let status = try? String(contentsOfFile: "/proc/\(program.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        // "VmRSS:	   12345 kB"
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 3, let kilobytes = Int(fields[1]), fields[2] == "kB" else { return nil }
        return kilobytes * 1024
    }

    static func listeningAddress(in log: String) -> SocketAddress? {
        guard let range = log.range(of: " listening on ") else { return nil }
        let rest = log[range.upperBound...]
        let token = rest.prefix { !$0.isWhitespace }
        return try? SocketAddress(parsing: String(token))
    }

    /// The offset of the first message in a new broker's log: its identity record is offset 0.
    public static let firstMessageOffset: UInt64 = 1

    /// The `muster` binary built next to the test bundle (or MUSTER_EXECUTABLE).
    public static func musterExecutable() -> String {
        if let path = ProcessInfo.processInfo.environment["MUSTER_EXECUTABLE"] { return path }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("muster").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("muster").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/muster").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }
}

public struct BrokerProcessError: Error, CustomStringConvertible {
    public let message: String
    public let log: String
    public var description: String { "\(message)\n--- broker output ---\n\(log)" }
}

extension ClientOptions {
    /// The same connection as `muster` command-line flags.
    public var commandLineArguments: [String] {
        ["--server", "\(server)", "--server-name", serverName, "--cert", identity.certificatePath, "--key", identity.privateKeyPath]
            + identity.trustedAuthorityPaths.flatMap { ["--ca", $0] }
    }
}
