import Foundation
import Glibc
import MusterClient
import MusterNet
import MusterStomp
import MusterTestSupport
import Testing
@testable import MusterBroker
@testable import MusterProtocol

/// `muster bench` as a user runs it: the real binary against a real `muster serve` over
/// mutual TLS, with small counts. Every figure it prints is checked against what the broker
/// really did (its log, its acknowledgement records), and every failure must end the run
/// with a message that says what went wrong, never a hang or a crash.
@Suite("muster bench")
struct BenchCommandTests {
    // MARK: publish

    @Test(arguments: [(receiptEvery: 50, publishers: 1), (receiptEvery: 1, publishers: 1), (receiptEvery: 50, publishers: 3)])
    func publishReportsItsFiguresAndTheBrokerStoredEveryMessage(receiptEvery: Int, publishers: Int) async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let destination = "/queue/bench.x"
        let run = try await Bench.run(broker, "publish", ["--messages", "500", "--receipt-every", "\(receiptEvery)", "--outstanding", "4",
                                                          "--publishers", "\(publishers)", "--size", "100", "--destination", destination])
        try run.expectSuccess()
        #expect(run.stdoutLines.first == "label,scenario,metric,value,unit", "\(run)")
        #expect(run.rows.map(\.metric) == ["throughput", "messages", "seconds"], "\(run)")
        #expect(run.rows.allSatisfy { $0.label == "broker" && $0.scenario == "publish" }, "\(run)")
        #expect(try run.value("throughput") > 0)
        #expect(try run.value("messages") == 500)
        #expect(try run.value("seconds") >= 0)
        #expect(run.row("throughput")?.unit == "msg/s")

        broker.stop(removingDirectory: false)
        let stored = try await Bench.storedMessages(broker, destination: destination)
        #expect(stored.count == 500, "the broker's log holds \(stored.count) messages on \(destination)")
        #expect(stored.allSatisfy { $0.sender.contains("langxia-town") && $0.bodySize == 100 },
                "every stored message comes from the bench's party with a 100-byte body")
    }

    @Test func publishWithoutADestinationUsesAFreshQueuePerRun() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let first = try await Bench.run(broker, "publish", ["--messages", "20", "--receipt-every", "5"], format: "table")
        let second = try await Bench.run(broker, "publish", ["--messages", "20", "--receipt-every", "5"], format: "table")
        try first.expectSuccess()
        try second.expectSuccess()
        let heading = try #require(first.stdoutLines.first)
        #expect(heading.hasPrefix("broker publish (20 × 1024 B to /queue/bench.publish-"), "\(first)")
        #expect(first.stdoutLines.dropFirst().contains { $0.hasPrefix("  throughput  ") && $0.hasSuffix(" msg/s") }, "\(first)")
        #expect(first.stdoutLines.dropFirst().contains { $0.hasPrefix("  messages    20 msg") }, "\(first)")
        #expect(first.stdoutLines.first != second.stdoutLines.first, "two runs share no destination")
    }

    // MARK: end-to-end and fanout

    @Test(arguments: ["client-individual", "client", "auto"])
    func endToEndDeliversEveryMessageAndLeavesNothingUnacknowledged(ack: String) async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let destination = "/queue/bench.e2e-\(ack)"
        let run = try await Bench.run(broker, "end-to-end", ["--ack", ack, "--publishers", "2", "--subscribers", "2", "--messages", "1000",
                                                             "--size", "64", "--destination", destination])
        try run.expectSuccess()
        #expect(run.rows.map(\.metric) == ["throughput", "messages", "seconds"], "\(run)")
        #expect(run.rows.allSatisfy { $0.scenario == "end-to-end" }, "\(run)")
        #expect(try run.value("throughput") > 0)
        #expect(try run.value("messages") == 1000)

        // The bench has exited; ACKs it wrote may still be on their way through the broker.
        let pending = try await Bench.pendingAfterSettling(broker, destination: destination)
        let unacknowledged = pending.count
        let examples = pending.prefix(3).map { "offset \($0.offset) \($0.state) (\($0.subscription ?? "-"), delivery \($0.deliveryCount))" }
        #expect(unacknowledged == 0, "deliveries on \(destination) still unacknowledged after --ack \(ack), e.g. \(examples)")
    }

    @Test func fanoutDeliversEveryMessageToEverySubscriber() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let destination = "/topic/bench.fanout-test"
        let run = try await Bench.run(broker, "fanout", ["--subscribers", "3", "--messages", "300", "--size", "64", "--destination", destination])
        try run.expectSuccess()
        #expect(run.rows.map(\.metric) == ["deliveries", "messages", "seconds"], "\(run)")
        #expect(run.rows.allSatisfy { $0.scenario == "fanout" }, "\(run)")
        #expect(try run.value("deliveries") > 0)
        #expect(run.row("deliveries")?.unit == "deliveries/s")
        #expect(try run.value("messages") == 300)

        broker.stop(removingDirectory: false)
        #expect(try await Bench.storedMessages(broker, destination: destination).count == 300)
    }

    @Test func fanoutWithoutADestinationUsesAFreshTopic() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "fanout", ["--subscribers", "2", "--messages", "10"], format: "table")
        try run.expectSuccess()
        #expect(run.stdoutLines.first?.contains(" via /topic/bench.fanout-") == true, "\(run)")
    }

    // MARK: latency

    /// 1000 ms divided into equal intervals: the measured part holds rate × duration messages,
    /// whether or not the rate divides a second into whole nanoseconds.
    @Test(arguments: [200, 300])
    func latencyReportsOrderedPercentilesOfTheMeasuredMessages(rate: Int) async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "latency", ["--rate", "\(rate)", "--duration", "1", "--warmup", "0.5", "--size", "64"])
        try run.expectSuccess()
        #expect(run.rows.map(\.metric) == ["p50", "p90", "p99", "p99.9", "max", "messages"], "\(run)")
        #expect(run.rows.prefix(5).allSatisfy { $0.unit == "µs" }, "\(run)")
        let percentiles = try ["p50", "p90", "p99", "p99.9", "max"].map { try run.value($0) }
        #expect(percentiles.allSatisfy { $0 > 0 }, "\(percentiles)")
        #expect(zip(percentiles, percentiles.dropFirst()).allSatisfy { $0 <= $1 }, "p50 ≤ p90 ≤ p99 ≤ p99.9 ≤ max: \(percentiles)")
        #expect(try run.value("messages") == Double(rate), "\(rate) msg/s for 1 s after the warm-up")
    }

    // MARK: connections

    @Test func connectionsHoldsEveryConnectionAndReadsTheBrokersMemory() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "connections", ["--count", "50", "--broker-pid", "\(broker.processIdentifier)", "--settle", "0.3"])
        try run.expectSuccess()
        #expect(run.rows.map(\.metric) == ["handshakes", "connections", "broker-rss-at-rest", "broker-rss-held", "rss-per-connection"],
                "\(run)")
        #expect(try run.value("connections") == 50)
        #expect(try run.value("handshakes") > 0)
        #expect(try run.value("broker-rss-at-rest") > 0)
        #expect(try run.value("broker-rss-held") > 0)
        #expect(run.row("rss-per-connection")?.unit == "KiB")
        // The connections were real STOMP sessions of the bench's party (the broker's output arrives through a pipe).
        func sessions() -> Int {
            broker.log.split(separator: "\n").filter { $0.contains("party=jinshan/langxia-town") && $0.hasSuffix("] connected") }.count
        }
        try await eventually("the broker to log 50 sessions") { sessions() >= 50 }
        #expect(sessions() == 50)
    }

    @Test func connectionsWithoutAPIDReportsNoMemory() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "connections", ["--count", "5", "--settle", "0"])
        try run.expectSuccess()
        #expect(run.rows.map(\.metric) == ["handshakes", "connections"], "\(run)")
        #expect(try run.value("connections") == 5)
    }

    @Test func connectionsWithAPIDThatIsNoProcessSaysSo() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "connections", ["--count", "2", "--broker-pid", "999999999", "--settle", "0"])
        run.expectFailure(naming: ["999999999"])
    }

    // MARK: ceiling

    @Test func ceilingIsOneOverAnAppendPlusARoundTrip() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let scratch = try TemporaryDirectory(prefix: "muster-ceiling")
        defer { scratch.remove() }
        let run = try await Bench.run(broker, "ceiling", ["--samples", "50", "--directory", scratch.path,
                                                          "--server-cert", broker.pki.serverCertificate, "--server-key", broker.pki.serverKey])
        try run.expectSuccess()
        #expect(run.rows.map(\.metric) == ["fdatasync-append", "fdatasync-preallocated", "tls-round-trip", "ceiling", "ceiling-preallocated",
                                            "fdatasync-preallocated-p99", "fdatasync-preallocated-p99.9", "tls-round-trip-p99"],
                "\(run)")
        // Tails are never below the medians they bound.
        #expect(try run.value("fdatasync-preallocated-p99") >= run.value("fdatasync-preallocated"), "\(run)")
        #expect(try run.value("fdatasync-preallocated-p99.9") >= run.value("fdatasync-preallocated-p99"), "\(run)")
        #expect(try run.value("tls-round-trip-p99") >= run.value("tls-round-trip"), "\(run)")
        let append = try run.value("fdatasync-append"), preallocated = try run.value("fdatasync-preallocated")
        let roundTrip = try run.value("tls-round-trip")
        #expect(append > 0 && preallocated > 0 && roundTrip > 0, "\(run)")
        // The CSV rounds every figure to 0.01, so allow for that in the quotient.
        func expectQuotient(_ name: String, _ sync: Double) throws {
            let ceiling = try run.value(name)
            let exact = 1e6 / (sync + roundTrip)
            let slack = 1e6 / max(sync + roundTrip - 0.02, 0.01) - exact + 0.01
            #expect(abs(ceiling - exact) <= slack, "\(name) \(ceiling) ≈ 1e6 / (\(sync) + \(roundTrip)) = \(exact)")
        }
        try expectQuotient("ceiling", append)
        try expectQuotient("ceiling-preallocated", preallocated)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty, "the sample files are removed")
    }

    @Test func ceilingInADirectoryItCannotWriteSaysSo() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "ceiling", ["--samples", "5", "--directory", "/nonexistent/muster-ceiling",
                                                          "--server-cert", broker.pki.serverCertificate, "--server-key", broker.pki.serverKey])
        run.expectFailure(naming: ["/nonexistent/muster-ceiling", "--directory"])
    }

    // MARK: --csv FILE

    @Test func csvFileCollectsTheRowsOfSeveralRunsUnderOneHeader() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let scratch = try TemporaryDirectory(prefix: "muster-bench-csv")
        defer { scratch.remove() }
        let file = scratch.file("results.csv")
        let first = try await Bench.run(broker, "publish", ["--messages", "50", "--receipt-every", "10", "--csv", file, "--label", "first"],
                                        format: "table")
        try first.expectSuccess()
        #expect(first.stdoutLines.first?.hasPrefix("first publish (") == true, "stdout keeps the table: \(first)")
        let second = try await Bench.run(broker, "publish", ["--messages", "60", "--receipt-every", "10", "--csv", file,
                                                             "--label", #"muster "embedded", fsync"#])
        try second.expectSuccess()

        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "label,scenario,metric,value,unit")
        #expect(lines.filter { $0 == "label,scenario,metric,value,unit" }.count == 1, "one header:\n\(text)")
        #expect(lines.count == 7, "\(text)")
        let rows = lines.dropFirst().compactMap(BenchRow.init)
        #expect(rows.count == 6, "every row is five CSV fields:\n\(text)")
        #expect(rows.map(\.label) == Array(repeating: "first", count: 3) + Array(repeating: #"muster "embedded", fsync"#, count: 3))
        #expect(rows.filter { $0.metric == "messages" }.map(\.value) == [50, 60])
    }

    /// `mktemp` makes the file before the first run: an empty file is as new as a missing one.
    @Test func csvFileThatExistsButIsEmptyGetsTheHeader() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let scratch = try TemporaryDirectory(prefix: "muster-bench-csv")
        defer { scratch.remove() }
        let file = try scratch.write("", to: "made-by-mktemp.csv")
        let run = try await Bench.run(broker, "publish", ["--messages", "20", "--receipt-every", "10", "--csv", file])
        try run.expectSuccess()
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "label,scenario,metric,value,unit", "\(lines)")
        #expect(lines.count == 4, "\(lines)")
    }

    @Test func csvFileThatCannotBeWrittenFailsTheRunNamingIt() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "publish", ["--messages", "20", "--csv", "/nonexistent/muster/results.csv"])
        run.expectFailure(naming: ["/nonexistent/muster/results.csv"])
    }

    // MARK: Failures say what went wrong

    static let onlyAllowed = """
        topics:
          - {destination: "/queue/allowed.**", publish: all, subscribe: all}
        """

    @Test(arguments: [["publish", "--messages", "1000"], ["publish", "--messages", "1000", "--receipt-every", "1", "--outstanding", "1"],
                      ["end-to-end", "--messages", "100"], ["latency", "--rate", "100", "--duration", "1", "--warmup", "0"]])
    func aDestinationThePolicyRefusesFailsTheRunNamingTheRefusal(arguments: [String]) async throws {
        let broker = try await runBlocking { try BrokerProcess.start(topics: Self.onlyAllowed) }
        defer { broker.stop() }
        let run = try await Bench.run(broker, arguments[0], Array(arguments.dropFirst()) + ["--destination", "/queue/refused.x"])
        run.expectFailure(naming: ["/queue/refused.x"])
        #expect(run.stderr.contains("not-authorized") || run.stderr.contains("ERROR"),
                "the broker's refusal is shown, not only its effect on the connection: \(run)")
    }

    @Test func theSameRunOnAnAllowedDestinationSucceeds() async throws {
        let broker = try await runBlocking { try BrokerProcess.start(topics: Self.onlyAllowed) }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "publish", ["--messages", "100", "--destination", "/queue/allowed.x"])
        try run.expectSuccess()
        #expect(try run.value("messages") == 100)
    }

    /// The broker refuses the certificate after the client's side of a TLS 1.3 handshake is
    /// done, so the refusal (an alert) races with the client's first write. Whichever comes
    /// first, the user must learn that the certificate was refused: several runs at once.
    @Test func aClientCertificateFromAnUnknownAuthorityFailsTheRunSayingSo() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let stranger = try broker.pki.untrustedClient("langxia-town")
        let runs = try await withThrowingTaskGroup(of: ProgramRun.self) { group in
            for _ in 0..<6 { group.addTask { try await Bench.run(broker, "publish", ["--messages", "10"], party: stranger) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for run in runs {
            run.expectFailure(naming: [])
            #expect(["certificate", "unknown ca"].contains { run.stderr.lowercased().contains($0) },
                    "stderr says the broker refused the client certificate: \(run)")
        }
    }

    @Test func aCAThatDidNotSignTheBrokerFailsTheRunWithAVerifyError() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, "end-to-end", ["--messages", "10"], authority: broker.pki.pinghuAuthority)
        run.expectFailure(naming: ["verify"])
    }

    @Test(arguments: [["end-to-end", "--ack", "bogus", "--messages", "10"], ["fanout", "--ack", "bogus", "--messages", "10"],
                      ["latency", "--ack", "bogus", "--duration", "1"]])
    func anUnknownAckModeFailsNamingTheModes(arguments: [String]) async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, arguments[0], Array(arguments.dropFirst()))
        run.expectFailure(naming: ["bogus", "auto", "client", "client-individual"])
    }

    @Test func anUnknownFormatIsRefusedBeforeConnecting() async throws {
        let run = try await runMuster(["bench", "publish", "--format", "xml", "--port", "1"])
        run.expectFailure(naming: ["--format", "table", "csv"])
    }

    @Test(arguments: [["latency", "--rate", "0"], ["latency", "--duration", "0"], ["latency", "--size", "10"]])
    func latencyRefusesSettingsItCannotMeasureNamingTheOption(arguments: [String]) async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let run = try await Bench.run(broker, arguments[0], Array(arguments.dropFirst()), timeout: .seconds(10))
        run.expectFailure(naming: [arguments[1]])
    }

    /// Settings that leave nothing to measure, or that could never finish, are refused with a
    /// message naming the option, instead of a made-up figure (a throughput for messages no
    /// publisher sent), a crash (division by zero, an inverted range, an infinite figure), a
    /// misleading error, or a wait that only the 30 s stall limit ends.
    @Test(arguments: [
        ["publish", "--publishers", "0"], ["publish", "--receipt-every", "0"], ["publish", "--outstanding", "0"],
        ["publish", "--messages=-1"], ["end-to-end", "--publishers", "0"], ["connections", "--count", "0"],
        ["ceiling", "--samples", "0"],
    ])
    func settingsThatCannotRunAreRefusedNamingTheOption(arguments: [String]) async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let scenario = arguments[0]
        var extra: [String] = []
        if scenario == "connections" { extra = ["--broker-pid", "\(broker.processIdentifier)", "--settle", "0"] }
        if scenario == "ceiling" {
            extra = ["--directory", broker.directory.path, "--server-cert", broker.pki.serverCertificate, "--server-key", broker.pki.serverKey]
        }
        let run = try await Bench.run(broker, scenario, Array(arguments.dropFirst()) + extra, timeout: .seconds(10))
        run.expectFailure(naming: [String(arguments[1].prefix { $0 != "=" })])
    }

    /// The most common mistake of all: the broker is not running (or listens elsewhere).
    @Test func aPortNothingListensOnFailsTheRunNamingTheAddress() async throws {
        let closed = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
        let port = try Socket.localPort(closed)
        close(closed)
        let pki = try TestPKI(in: try TemporaryDirectory(prefix: "muster-bench-closed").path)
        defer { try? FileManager.default.removeItem(atPath: pki.directory) }
        let run = try await runMuster(["bench", "publish", "--messages", "10", "--port", "\(port)", "--quiet"]
                                            + Bench.identity(try pki.client("langxia-town")), timeout: .seconds(20))
        run.expectFailure(naming: ["127.0.0.1:\(port)"])
    }

    /// A port where something accepts TCP connections but never answers the TLS handshake (a
    /// wrong port, a stuck broker): the run fails with a message, it does not wait forever.
    @Test func aBrokerThatNeverAnswersTheHandshakeFailsTheRun() async throws {
        let silent = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
        defer { close(silent) }
        let port = try Socket.localPort(silent)
        let pki = try TestPKI(in: try TemporaryDirectory(prefix: "muster-bench-silent").path)
        defer { try? FileManager.default.removeItem(atPath: pki.directory) }
        let files = try pki.client("langxia-town")
        let run = try await runMuster(["bench", "publish", "--messages", "10", "--port", "\(port)", "--quiet"] + Bench.identity(files),
                                            timeout: .seconds(20))
        run.expectFailure(naming: [])
    }
}

/// Running the tool, reading what it printed, and reading what the broker did.
enum Bench {
    /// The TLS flags for a client certificate, trusting `authority` (default: the CA the files name) for the broker's.
    static func identity(_ files: ClientFiles, authority: String? = nil) -> [String] {
        ["--cert", files.certificate, "--key", files.key, "--ca", authority ?? files.authority]
    }

    /// `muster bench SCENARIO ARGUMENTS` against `broker` with a certificate of `party`
    /// (default: langxia-town's), CSV on stdout, no progress lines.
    static func run(_ broker: BrokerProcess, _ scenario: String, _ arguments: [String], party: ClientFiles? = nil,
                    authority: String? = nil, format: String = "csv", timeout: Duration = .seconds(40)) async throws -> ProgramRun {
        let files = try party ?? broker.pki.client("langxia-town")
        return try await runMuster(["bench", scenario] + arguments
                                   + ["--host", "127.0.0.1", "--port", "\(broker.address.port)", "--format", format, "--quiet"]
                                   + identity(files, authority: authority), timeout: timeout)
    }

    struct StoredMessage {
        let sender: String
        let bodySize: Int
    }

    /// The messages on `destination` in the log of a stopped broker (`muster log dump`).
    static func storedMessages(_ broker: BrokerProcess, destination: String) async throws -> [StoredMessage] {
        let dump = try await runMuster(["log", "dump", "--data", broker.dataDirectory, "--destination", destination, "--kinds", "messages"])
        try dump.expectSuccess()
        return try dump.stdoutLines.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let body = (object["body"] as? String).map { $0.utf8.count }
                ?? (object["body-base64"] as? String).flatMap { Data(base64Encoded: $0)?.count } ?? -1
            return StoredMessage(sender: object["sender"] as? String ?? "", bodySize: body)
        }
    }

    /// What is unacknowledged on `destination`, asked by the auditor until nothing is or 10 s passed.
    static func pendingAfterSettling(_ broker: BrokerProcess, destination: String) async throws -> [PendingAck] {
        let auditor = try await broker.connect("discipline-inspector")
        var pending: [PendingAck] = []
        do {
            try await eventually(timeout: .seconds(10), "nothing unacknowledged on \(destination)", pollingEvery: .milliseconds(100),
                                 recordIssue: false) {
                pending = try await AckQueryClient(auditor).pending(destination: destination)
                return pending.isEmpty
            }
        } catch is ConditionTimedOut {}  // the caller judges what is still pending
        try await auditor.disconnect()
        return pending
    }
}

/// One CSV row of `muster bench`: `label,scenario,metric,value,unit`.
struct BenchRow: Equatable {
    let label: String
    let scenario: String
    let metric: String
    let value: Double
    let unit: String

    init?(_ line: String) {
        guard let fields = Self.fields(of: line), fields.count == 5, let value = Double(fields[3]) else { return nil }
        (label, scenario, metric, self.value, unit) = (fields[0], fields[1], fields[2], value, fields[4])
    }

    /// RFC 4180 fields of one record, or nil when it is not valid CSV.
    static func fields(of line: String) -> [String]? {
        var fields: [String] = [], field = "", quoted = false, atStart = true
        var characters = Array(line)[...]
        while let character = characters.popFirst() {
            switch (quoted, character) {
            case (true, "\""):
                if characters.first == "\"" { characters.removeFirst(); field.append("\"") } else {
                    quoted = false
                    guard characters.isEmpty || characters.first == "," else { return nil }
                }
            case (true, _): field.append(character)
            case (false, "\""):
                guard atStart else { return nil }
                quoted = true
                atStart = false
            case (false, ","):
                fields.append(field)
                field = ""
                atStart = true
            case (false, "\r"), (false, "\n"): return nil
            case (false, _):
                field.append(character)
                atStart = false
            }
        }
        guard !quoted else { return nil }
        return fields + [field]
    }
}

/// The CSV rows `muster bench` printed.
extension ProgramRun {
    var rows: [BenchRow] { stdoutLines.dropFirst().compactMap(BenchRow.init) }
    func row(_ metric: String) -> BenchRow? { rows.first { $0.metric == metric } }

    func value(_ metric: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Double {
        try #require(row(metric), "no \(metric) row in \(self)", sourceLocation: sourceLocation).value
    }
}
