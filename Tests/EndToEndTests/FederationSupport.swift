import Foundation
import MusterClient
import MusterStomp
import MusterLog
import MusterNet
import MusterProtocol
import MusterTestSupport
import Synchronization
import Testing

/// Two real brokers that share a test PKI and link both ways, each through a `LinkProxy` (so
/// that tests can cut, blackhole and flap a link): Jinshan exports `/topic/joint.**` to
/// Pinghu, which imports it through `toJinshan`; Pinghu exports the same to Jinshan, which
/// imports it through `toPinghu`.
final class LinkedBrokers: @unchecked Sendable {
    let pki: TestPKI
    let pkiDirectory: TemporaryDirectory
    var jinshan: BrokerProcess
    var pinghu: BrokerProcess
    /// Pinghu's link to Jinshan's broker.
    let proxy: LinkProxy
    /// Jinshan's link to Pinghu's broker.
    let toPinghu: LinkProxy

    /// Pinghu's policy refuses some of what Jinshan exports: a destination only Pinghu's parties
    /// may publish to, a typed one (schema), and one with an admission list.
    static let pinghuTopics = """
        topics:
          - {destination: "/topic/joint.pinghu-only", publish: [{jurisdiction: pinghu}], subscribe: all}
          - {destination: "/topic/joint.complaints", types: complaint, publish: all, subscribe: all}
          - destination: /topic/joint.tasks
            types: complaint
            publish: all
            subscribe: all
            admission:
              admitted:
                - {tasks: [complaint], from: [{jurisdiction: pinghu}], reason: Pinghu's own cases, reference: test list}
          - {destination: "/topic/**", publish: all, subscribe: all}
          - {destination: "/queue/**", publish: all, subscribe: all}
        """

    /// `heartbeat`: the links' heart-beat (and the brokers' offer), e.g. "1s"; nil keeps the defaults.
    /// `jinshanSettings` is added to Jinshan's muster.yaml (a log retention, for instance).
    /// `pinghuFileSizeLimit` starts Pinghu's broker under `prlimit --fsize` (a full disk; a restart lifts it).
    /// `jinshanPeer` and `pinghuPeer` are more settings of each broker's peer entry (`prefetch: 1`).
    /// Starts them on a thread of its own: starting two brokers blocks for seconds under load,
    /// and a blocked thread of the test runner's small pool holds up every other test's awaits.
    static func start(heartbeat: String? = nil, jinshanSettings: String = "", pinghuFileSizeLimit: Int? = nil,
                      jinshanPeer: [String] = [], pinghuPeer: [String] = [], jinshanTopics: String = BrokerProcess.openTopics,
                      pinghuTopics: String = LinkedBrokers.pinghuTopics, jointRules: Bool = true) async throws -> LinkedBrokers {
        try await runBlocking {
            try LinkedBrokers(heartbeat: heartbeat, jinshanSettings: jinshanSettings, pinghuFileSizeLimit: pinghuFileSizeLimit,
                              jinshanPeer: jinshanPeer, pinghuPeer: pinghuPeer, jinshanTopics: jinshanTopics, pinghuTopics: pinghuTopics,
                              jointRules: jointRules)
        }
    }

    init(heartbeat: String? = nil, jinshanSettings: String = "", pinghuFileSizeLimit: Int? = nil,
         jinshanPeer: [String] = [], pinghuPeer: [String] = [], jinshanTopics: String = BrokerProcess.openTopics,
         pinghuTopics: String = LinkedBrokers.pinghuTopics, jointRules: Bool = true) throws {
        pkiDirectory = try TemporaryDirectory(prefix: "muster-federation-pki")
        pki = try TestPKI(in: pkiDirectory.path)
        // The proxies exist first, so that each broker's settings can name the other's.
        let nowhere = SocketAddress(host: "127.0.0.1", port: 1)
        proxy = try LinkProxy(to: nowhere)
        toPinghu = try LinkProxy(to: nowhere)
        jinshan = try BrokerProcess.start(in: TemporaryDirectory(prefix: "muster-jinshan"),
                                          settings: Self.settings(peer: "pinghu", address: toPinghu.address, ca: pki.pinghuAuthority, heartbeat: heartbeat, more: jinshanPeer,
                                                                  jointRules: jointRules)
                                            + "\n" + jinshanSettings,
                                          topics: jinshanTopics, jurisdiction: "jinshan", pki: pki)
        pinghu = try BrokerProcess.start(in: TemporaryDirectory(prefix: "muster-pinghu"),
                                         settings: Self.settings(peer: "jinshan", address: proxy.address, ca: pki.jinshanAuthority, heartbeat: heartbeat, more: pinghuPeer,
                                                                 jointRules: jointRules),
                                         topics: pinghuTopics, fileSizeLimit: pinghuFileSizeLimit, jurisdiction: "pinghu", pki: pki)
        proxy.retarget(jinshan.address)
        toPinghu.retarget(pinghu.address)
    }

    /// Runs `body` on two linked brokers with the shipped topics (the governance workflows, the
    /// inboxes and their admission lists), 1 s heart-beats and no export or import rules (the cases
    /// that name both sides' parties cross without them); records both brokers' output if it throws.
    static func governing(_ body: (LinkedBrokers) async throws -> Void) async throws {
        let brokers = try await start(heartbeat: "1s", jinshanTopics: BrokerProcess.shippedTopics, pinghuTopics: BrokerProcess.shippedTopics,
                                      jointRules: false)
        defer { brokers.remove() }
        do {
            try await body(brokers)
        } catch {
            Issue.record("Jinshan's broker:\n\(brokers.jinshan.log)\nPinghu's broker:\n\(brokers.pinghu.log)")
            throw error
        }
    }

    /// `jointRules`: export and import `/topic/joint.**` (else no rules at all).
    static func settings(peer: String, address: SocketAddress, ca: String, heartbeat: String?, more: [String] = [], jointRules: Bool = true) -> String {
        let milliseconds = heartbeat.flatMap { DurationText.milliseconds($0) }
        let peerSettings = (more + (heartbeat.map { ["heartbeat: \($0)"] } ?? [])).map { "      " + $0 }.joined(separator: "\n")
        return """
            federation:
              peers:
                - jurisdiction: \(peer)
                  address: \(address)
                  ca: \(ca)
                  export: [\(jointRules ? #"{destination: "/topic/joint.**"}"# : "")]
                  import: [\(jointRules ? #"{destination: "/topic/joint.**"}"# : "")]
            \(peerSettings)
            \(milliseconds.map { "heartbeat: {send-ms: \($0), expect-ms: \($0)}" } ?? "")
            """
    }

    /// Restarts Jinshan's broker (after `kill()`); it listens elsewhere, so Pinghu's proxy follows it.
    func restartJinshan() throws {
        jinshan = try jinshan.restart()
        proxy.retarget(jinshan.address)
    }

    func restartPinghu() throws {
        pinghu = try pinghu.restart()
        toPinghu.retarget(pinghu.address)
    }

    /// Stops both brokers (if running), keeping their logs for an offline check.
    func halt() {
        proxy.stop()
        toPinghu.stop()
        if jinshan.isRunning { jinshan.stop(removingDirectory: false) }
        if pinghu.isRunning { pinghu.stop(removingDirectory: false) }
    }

    func remove() {
        halt()
        jinshan.directory.remove()
        pinghu.directory.remove()
        pkiDirectory.remove()
    }

    /// Publishes with a receipt as `connection`; returns the record's offset in Jinshan's log.
    @discardableResult
    static func publish(_ connection: MusterConnection, to destination: String, _ text: String) async throws -> UInt64 {
        let receipt = try await connection.send(StompFrame(.send, headers: ["destination": destination], body: Array(text.utf8)), awaitingReceipt: true)
        return try #require(receipt["muster-offset"].flatMap { UInt64($0) }, "a RECEIPT without muster-offset: \(receipt)")
    }

    /// Waits until Pinghu's link has taken Jinshan's record at `offset` (from the status file).
    func waitUntilPinghuTook(_ offset: UInt64, timeout: Duration = .seconds(60)) async throws {
        try await Self.waitUntil(pinghu, took: offset, timeout: timeout)
    }

    /// Waits until `importer`'s (only) link has taken its peer's record at `offset` (in `lane`).
    static func waitUntil(_ importer: BrokerProcess, took offset: UInt64, lane: String = "bulk", timeout: Duration = .seconds(60)) async throws {
        try await eventually(timeout: timeout, "the \(lane) lane of \(importer.directory.path) to take its peer's record \(offset)") {
            (try? await Self.lastTaken(by: importer, lane: lane)) == offset
        }
    }

    /// The records Pinghu's log took from Jinshan over the link (imported or refused), in log
    /// order (read offline: stop the broker first).
    static func taken(in broker: BrokerProcess, from peer: String = "jinshan") throws
        -> [(origin: String, destination: String, body: String, refusal: String?, lane: String)] {
        var found: [(String, String, String, String?, String)] = []
        try LogArchive(dataDirectory: broker.dataDirectory).forEach { record in
            if record.kind == .message, record.header("muster-via")?.split(separator: ",").last.map(String.init) == peer, let origin = record.header("muster-origin") {
                found.append((origin, record.destination, String(decoding: record.body, as: UTF8.self), record.header("muster-import-refusal"),
                              record.header("muster-link-lane") ?? "bulk"))
            }
            return true
        }
        return found
    }

    /// The link event records of a broker's log about `peer` (read offline), their headers in order.
    static func linkEvents(in broker: BrokerProcess, peer: String) throws -> [[String: String]] {
        var found: [[String: String]] = []
        try LogArchive(dataDirectory: broker.dataDirectory).forEach { record in
            if record.destination == "/topic/muster.federation.links", record.header("muster-link-peer") == peer {
                found.append(Dictionary(record.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }))
            }
            return true
        }
        return found
    }

    /// The refusal records of a broker's audit destination (read offline), as JSON objects.
    static func refusals(in broker: BrokerProcess) throws -> [[String: Any]] {
        var found: [[String: Any]] = []
        try LogArchive(dataDirectory: broker.dataDirectory).forEach { record in
            if record.destination == "/topic/muster.audit.refusals",
               let object = try? JSONSerialization.jsonObject(with: Data(record.body)) as? [String: Any] { found.append(object) }
            return true
        }
        return found
    }

    /// Jinshan's log id and the offsets of the records stamped for Pinghu, in log order (and
    /// those of them stamped for its urgent lane).
    static func exported(from broker: BrokerProcess, to peer: String = "pinghu") throws -> (logID: String, offsets: [UInt64], urgent: Set<UInt64>) {
        var logID = ""
        var offsets: [UInt64] = []
        var urgent = Set<UInt64>()
        try LogArchive(dataDirectory: broker.dataDirectory).forEach { record in
            if record.destination == "/topic/muster.log.identity", let id = record.header("muster-log-id") { logID = id }
            if record.kind == .message, record.header("muster-export")?.split(separator: ",").contains(Substring(peer)) == true {
                offsets.append(record.offset)
                if record.header("muster-export-urgent")?.split(separator: ",").contains(Substring(peer)) == true { urgent.insert(record.offset) }
            }
            return true
        }
        return (logID, offsets, urgent)
    }

    /// A valid complaint (the schema's example), for a typed, urgent record.
    static func complaint() throws -> [UInt8] {
        let schema = try String(contentsOfFile: BrokerProcess.schemasDirectory + "/complaint.schema.json", encoding: .utf8)
        let example = try #require((try JSONSerialization.jsonObject(with: Data(schema.utf8)) as? [String: Any])?["examples"] as? [Any]).first
        return Array(try JSONSerialization.data(withJSONObject: try #require(example)))
    }

    /// The status of a broker's link (its one peer's `lane`) as `muster federation status --json` prints it.
    static func status(of broker: BrokerProcess, lane: String = "bulk") async throws -> [String: Any] {
        let run = try await runMuster(["federation", "status", "--data", broker.dataDirectory, "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
        return list?.first { $0["lane"] as? String == lane } ?? [:]
    }

    /// The offset in the peer's log of the last record `lane` took, from the status file.
    static func lastTaken(by broker: BrokerProcess, lane: String = "bulk") async throws -> UInt64? {
        let position = try await status(of: broker, lane: lane)["lastLinkPosition"] as? String
        return position?.split(separator: "/").last.flatMap { UInt64($0) }
    }
}

/// What a background task collected (a subscription's messages), read by the test.
final class Collected<Item: Sendable>: Sendable {
    private let storage = Mutex<[Item]>([])
    func append(_ item: Item) { storage.withLock { $0.append(item) } }
    var items: [Item] { storage.withLock { $0 } }
}
