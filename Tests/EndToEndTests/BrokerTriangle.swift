import Foundation
import MusterLog
import MusterNet
import MusterTestSupport

/// Three real brokers, Jinshan, Pinghu and Jiashan, that share a test PKI and are fully linked:
/// each exports `/topic/joint.**` to both others and imports it from both, with relay on (hop
/// limit 2), so a record can reach a broker directly or through the third one. Every import
/// link goes through a `LinkProxy` of its own (six in all), so that a test can cut one edge in
/// both directions and leave the other two up.
final class BrokerTriangle: @unchecked Sendable {
    static let jurisdictions = ["jinshan", "pinghu", "jiashan"]
    /// The party of each jurisdiction that publishes and reads at its own broker.
    static let township = ["jinshan": "langxia-town", "pinghu": "guangchen-town", "jiashan": "xitang-town"]

    /// One import link: `importer`'s broker takes `exporter`'s records.
    struct Link: Hashable {
        let importer: String
        let exporter: String
    }

    let pki: TestPKI
    let pkiDirectory: TemporaryDirectory
    private(set) var brokers: [String: BrokerProcess] = [:]
    private let proxies: [Link: LinkProxy]
    /// Import links whose importer does not relay with the exporter (relay off in its config).
    private let relayOff: Set<Link>

    /// `topics`: a broker's topics file, where it is not the open one.
    /// Starts the three on a thread of its own (see `LinkedBrokers.start`).
    static func start(relayOff: Set<Link> = [], topics: [String: String] = [:]) async throws -> BrokerTriangle {
        try await runBlocking { try BrokerTriangle(relayOff: relayOff, topics: topics) }
    }

    init(relayOff: Set<Link> = [], topics: [String: String] = [:]) throws {
        self.relayOff = relayOff
        pkiDirectory = try TemporaryDirectory(prefix: "muster-triangle-pki")
        pki = try TestPKI(in: pkiDirectory.path)
        // The proxies exist first, so that each broker's settings can name its peers'.
        let nowhere = SocketAddress(host: "127.0.0.1", port: 1)
        var proxies: [Link: LinkProxy] = [:]
        for importer in Self.jurisdictions {
            for exporter in Self.jurisdictions where exporter != importer {
                proxies[Link(importer: importer, exporter: exporter)] = try LinkProxy(to: nowhere)
            }
        }
        self.proxies = proxies
        do {
            for jurisdiction in Self.jurisdictions {
                let broker = try BrokerProcess.start(in: TemporaryDirectory(prefix: "muster-\(jurisdiction)"), settings: settings(for: jurisdiction),
                                                     topics: topics[jurisdiction] ?? BrokerProcess.openTopics, jurisdiction: jurisdiction, pki: pki)
                brokers[jurisdiction] = broker
                // The links to it stop failing (and backing off) as soon as it listens.
                for (link, proxy) in proxies where link.exporter == jurisdiction { proxy.retarget(broker.address) }
            }
        } catch {
            remove()
            throw error
        }
    }

    subscript(jurisdiction: String) -> BrokerProcess { brokers[jurisdiction]! }

    /// SIGKILLs a broker and starts it again on its log; it listens elsewhere, so the proxies
    /// of the links to it follow.
    func killAndRestart(_ jurisdiction: String) throws {
        self[jurisdiction].kill()
        let broker = try self[jurisdiction].restart()
        brokers[jurisdiction] = broker
        for (link, proxy) in proxies where link.exporter == jurisdiction { proxy.retarget(broker.address) }
    }

    /// `jurisdiction`'s peers: the two others, each reached through its own proxy.
    private func settings(for jurisdiction: String) -> String {
        let authorities = ["jinshan": pki.jinshanAuthority, "pinghu": pki.pinghuAuthority, "jiashan": pki.jiashanAuthority]
        let peers = Self.jurisdictions.filter { $0 != jurisdiction }.map { peer in
            """
                - jurisdiction: \(peer)
                  address: \(proxies[Link(importer: jurisdiction, exporter: peer)]!.address)
                  ca: \(authorities[peer]!)
                  export: [{destination: "/topic/joint.**"}]
                  import: [{destination: "/topic/joint.**"}]
                  relay: {enabled: \(!relayOff.contains(Link(importer: jurisdiction, exporter: peer))), hop-limit: 2}
            """
        }
        return "federation:\n  peers:\n" + peers.joined(separator: "\n")
    }

    /// The proxies of the edge between `one` and `other`, both directions.
    private func edge(_ one: String, _ other: String) -> [LinkProxy] {
        [proxies[Link(importer: one, exporter: other)]!, proxies[Link(importer: other, exporter: one)]!]
    }

    /// Cuts the edge between `one` and `other` as a failed line would: its connections are
    /// reset, and the links' reconnections hang (a blackhole) until `restore`.
    func cut(_ one: String, _ other: String) async throws {
        for proxy in edge(one, other) {
            proxy.blackhole()
            try await proxy.cut()
        }
    }

    /// Mends the edge; the connections that hung are reset, so that the links reconnect after
    /// their backoff instead of waiting for the handshake to time out.
    func restore(_ one: String, _ other: String) async throws {
        for proxy in edge(one, other) {
            proxy.pass()
            try await proxy.cut()
        }
    }

    /// For each of `importer`'s links (bulk lanes), by exporter: the offset in the exporter's
    /// log of the last record it took, from the status file (rewritten every second).
    func lastTaken(by importer: String) async throws -> [String: UInt64] {
        let run = try await runMuster(["federation", "status", "--data", self[importer].dataDirectory, "--json"])
        let links = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]] ?? []
        var taken: [String: UInt64] = [:]
        for link in links where link["lane"] as? String == "bulk" {
            if let peer = link["peer"] as? String, let offset = (link["lastLinkPosition"] as? String)?.split(separator: "/").last.flatMap({ UInt64($0) }) {
                taken[peer] = offset
            }
        }
        return taken
    }

    /// Stops the proxies and the brokers (if running), keeping the logs for an offline check.
    func halt() {
        for proxy in proxies.values { proxy.stop() }
        for broker in brokers.values where broker.isRunning { broker.stop(removingDirectory: false) }
    }

    func remove() {
        halt()
        for broker in brokers.values { broker.directory.remove() }
        pkiDirectory.remove()
    }

    /// A record a broker imported: one that carries an origin key.
    struct Imported {
        let origin: String
        let via: String
        let destination: String
        let refusal: String?
    }

    /// A broker's log read offline (stop it first): its log id and what it imported, in log order.
    func archive(of jurisdiction: String) throws -> (logID: String, imported: [Imported]) {
        var logID = ""
        var imported: [Imported] = []
        try LogArchive(dataDirectory: self[jurisdiction].dataDirectory).forEach { record in
            if record.destination == "/topic/muster.log.identity", let id = record.header("muster-log-id") { logID = id }
            if record.kind == .message, let origin = record.header("muster-origin") {
                imported.append(Imported(origin: origin, via: record.header("muster-via") ?? "", destination: record.destination,
                                         refusal: record.header("muster-import-refusal")))
            }
            return true
        }
        return (logID, imported)
    }
}
