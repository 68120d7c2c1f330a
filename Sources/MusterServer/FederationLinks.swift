import Dispatch
import Foundation
import Logging
import MusterBroker
import MusterFederation
import MusterLog
import MusterNet
import MusterProtocol
import Synchronization

/// The broker's import links: two per peer with an address (its bulk and urgent lanes, each on
/// its own connection), started with the broker, changed
/// by a reload, stopped before the log closes. Their state is written every second to
/// `DATA/federation/status.json`, which `muster federation status` reads.
final class FederationLinks: Sendable {
    private let configuration: ServerConfiguration
    private let broker: Broker
    private let federation: FederationState
    private let positions: ImportPositions
    private let logger: Logger
    private let links = Mutex<[ImportPositions.Link: FederationLink]>([:])
    /// Set while a peer relays, or once one did (read from the log when relaying starts): every
    /// link drops a record whose copy another link stored. Changed only by `update`.
    private let originKeys = Mutex<SharedOriginKeys?>(nil)
    private let log: MessageLog
    private let timer = Mutex<(any DispatchSourceTimer)?>(nil)
    /// Set by `stop`: a reload racing the shutdown starts nothing after it.
    private let stopped = Atomic<Bool>(false)
    private let isRevoked: @Sendable (String, String) -> Bool

    init(configuration: ServerConfiguration, broker: Broker, federation: FederationState, log: MessageLog, logger: Logger,
         isRevoked: @escaping @Sendable (String, String) -> Bool) {
        self.isRevoked = isRevoked
        self.configuration = configuration
        self.broker = broker
        self.federation = federation
        self.positions = ImportPositions(dataDirectory: configuration.dataDirectory, log: log)
        self.log = log
        self.logger = logger
    }

    var statusFile: String { BrokerControlFiles(dataDirectory: configuration.dataDirectory).federationStatusFile }

    /// Starts a link for each peer with an address (and stops those no longer configured so).
    /// A link whose peer changed is stopped, and what it had in flight stored, before its
    /// successor looks for the position in the log: otherwise both could take the same records.
    /// A failure part-way (the log cannot be read) keeps the links that still run and forgets the
    /// stopped ones, so that the next reload starts them again.
    func update() throws {
        guard !stopped.load(ordering: .acquiring) else { return }
        let peers = federation.rules.peers.filter { $0.address != nil }
        let running = links.withLock { $0 }
        var next: [ImportPositions.Link: FederationLink] = [:]
        var started: [FederationLink] = []
        var gone = Set<ImportPositions.Link>()
        defer {
            links.withLock { links in
                links = next
                for (key, link) in running where next[key] == nil && !gone.contains(key) { links[key] = link }
            }
            for link in started { link.start() }
            startStatusTimer()
        }
        let relaying = try relayingNowOrBefore()
        var keys = relaying ? originKeys.withLock({ $0 }) : nil
        if relaying, keys == nil {
            // Relaying starts: the links (which kept no keys) stop first, so that the log read
            // holds everything they stored; they start again with the keys.
            for (key, link) in running {
                link.stopAndWait()
                gone.insert(key)
            }
            keys = try readOriginKeys()
        }
        originKeys.withLock { $0 = keys }
        for peer in peers {
            for lane in LinkLane.allCases {
                let key = ImportPositions.Link(peer: peer.jurisdiction, lane: lane)
                if let link = running[key], link.settings.peer.address == peer.address,
                   link.settings.peer.authorityPath == peer.authorityPath, link.settings.peer.authorityFingerprints == peer.authorityFingerprints,
                   link.settings.peer.link.importsAlike(peer.link), link.originKeys === keys {
                    next[key] = link
                    continue
                }
                if let old = running[key] {
                    old.stopAndWait()
                    gone.insert(key)
                }
                let link = try makeLink(peer, lane, originKeys: keys)
                next[key] = link
                started.append(link)
            }
        }
        let wanted = Set(peers.map(\.jurisdiction))
        for (key, link) in running where !wanted.contains(key.peer) {
            link.stopAndWait()
            gone.insert(key)
        }
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        timer.withLock { $0?.cancel(); $0 = nil }
        for link in links.withLock({ Array($0.values) }) { link.stopAndWait() }
        positions.flush()
        writeStatus()
    }

    var statuses: [LinkStatus] {
        links.withLock { $0.values.map(\.status) }.sorted { ($0.peer, $0.lane == .urgent ? 1 : 0) < ($1.peer, $1.lane == .urgent ? 1 : 0) }
    }

    /// Whether copies can arrive by two routes: a peer relays, or one did once (`DATA/federation/
    /// relayed`, written when relaying starts). A link moves past a copy it dropped in memory
    /// only, so after relaying stops its peer may send such copies again: the keys still drop them.
    private func relayingNowOrBefore() throws -> Bool {
        let marker = configuration.dataDirectory + "/federation/relayed"
        guard federation.rules.peers.contains(where: \.relay.enabled) else { return FileManager.default.fileExists(atPath: marker) }
        if !FileManager.default.fileExists(atPath: marker) {
            try FileManager.default.createDirectory(atPath: configuration.dataDirectory + "/federation", withIntermediateDirectories: true)
            try Data("relaying started; copies arriving by two routes are dropped by their origin keys from now on\n".utf8)
                .write(to: URL(fileURLWithPath: marker), options: .atomic)
        }
        return true
    }

    /// The origin keys of the log, for relaying: the links started with them report what they store.
    private func readOriginKeys() throws -> SharedOriginKeys {
        let started = ContinuousClock.now
        let (keys, records) = try SharedOriginKeys.read(from: log)
        logger.info("federation origin keys read for relaying", metadata: [
            "records": "\(records)", "ranges": "\(keys.rangeCount)", "seconds": "\(Double((ContinuousClock.now - started) / .microseconds(1)) / 1e6)",
        ])
        return keys
    }

    private func makeLink(_ peer: FederationPeer, _ lane: LinkLane, originKeys: SharedOriginKeys?) throws -> FederationLink {
        let address = try SocketAddress(parsing: peer.address ?? "")
        let started = ContinuousClock.now
        let key = ImportPositions.Link(peer: peer.jurisdiction, lane: lane)
        let found = try positions.find(key)
        let seconds = Double((ContinuousClock.now - started) / .microseconds(1)) / 1e6
        logger.info("federation link position", metadata: [
            "seconds": "\(seconds)",
            "peer": "\(peer.jurisdiction)", "lane": "\(lane.rawValue)", "position": "\(found.position.map { "\($0.logID)/\($0.offset)" } ?? "none (from the first record)")",
            "records-read": "\(found.recordsRead)", "hint": "\(found.usedHint)",
        ])
        var settings = FederationLink.Settings(peer: peer, address: address, jurisdiction: configuration.jurisdiction,
                                               brokerIdentity: configuration.brokerIdentity,
                                               certificatePath: configuration.certificatePath, privateKeyPath: configuration.privateKeyPath)
        settings.isRevoked = isRevoked
        settings.lane = lane
        let positions = self.positions
        let link = FederationLink(settings: settings, position: found.position, broker: broker, federation: federation, logger: logger,
                                  originKeys: originKeys) { offset, position in
            positions.taken(key, localOffset: offset, position: position)
        }
        if let warning = found.warning {
            logger.warning("federation link position: \(warning)", metadata: ["peer": "\(peer.jurisdiction)", "lane": "\(lane.rawValue)"])
        }
        return link
    }

    private func startStatusTimer() {
        timer.withLock { timer in
            guard timer == nil else { return }
            let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "muster-federation-status"))
            source.schedule(deadline: .now(), repeating: .seconds(1))
            source.setEventHandler { [weak self] in self?.writeStatus() }
            source.resume()
            timer = source
        }
    }

    private func writeStatus() {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(statuses) else { return }
        try? FileManager.default.createDirectory(atPath: configuration.dataDirectory + "/federation", withIntermediateDirectories: true)
        try? data.write(to: URL(fileURLWithPath: statusFile), options: .atomic)
    }
}
