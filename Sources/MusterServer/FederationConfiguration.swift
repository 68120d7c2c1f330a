import Foundation
import MusterBroker
public import MusterFederation
import MusterNet
import MusterProtocol

/// The `federation:` section of muster.yaml: the peer brokers, each with its jurisdiction,
/// address, CA, export and import rules and relay settings.
///
///     federation:
///       peers:
///         - jurisdiction: pinghu
///           address: 127.0.0.1:61615          # where this broker connects to import (optional)
///           ca: .muster/certs/pinghu/ca.crt   # trusted for muster://pinghu/broker only
///           export:
///             - {destination: "/topic/joint.*", types: [notice], senders: [{jurisdiction: jinshan}]}
///           import:
///             - {destination: /topic/joint.report-in, as: /topic/pinghu.report-in}
///           relay: {enabled: false, hop-limit: 2}
///           heartbeat: 5s                     # the link's heart-beats: silence of twice this drops it
///           prefetch: 4000                    # records the peer may send ahead of this broker's acknowledgements
///           urgent-types: [summons, report-in, escalation]   # sent to the peer in the urgent lane (the default)
///           ack-evidence-interval: 10s        # how often, at most, how far the peer acknowledged is recorded
///           workflows: true                   # cases naming the peer's parties are followed by both brokers
enum FederationConfiguration {
    /// A peer CA inside `developmentDirectory` may not exist yet: `muster serve` creates the
    /// development PKI before it loads the rest (until then no peer broker is admitted with it).
    static func read(_ section: ConfigurationReader?, jurisdiction: String, parties: PartyDirectory,
                     developmentDirectory: String?) throws(ConfigurationError) -> FederationRules {
        guard let section else { return FederationRules() }
        var seen = Set<String>()
        let peers = try section.list("peers") { (peer) throws(ConfigurationError) -> FederationPeer in
            guard let name = try peer.string("jurisdiction"), !name.isEmpty else {
                throw peer.error("jurisdiction", "is required: the peer broker's jurisdiction (from \(parties.file))")
            }
            guard name != jurisdiction else { throw peer.error("jurisdiction", "'\(name)' is this broker's own jurisdiction; a peer is another one") }
            guard parties.jurisdiction(name) != nil else { throw peer.error("jurisdiction", "'\(name)' is not a jurisdiction in \(parties.file)") }
            guard seen.insert(name).inserted else { throw peer.error("jurisdiction", "'\(name)' is a peer twice; one entry per peer broker") }
            let address = try peer.string("address")
            if let address {
                do { _ = try SocketAddress(parsing: address) } catch { throw peer.error("address", "'\(address)' must be HOST:PORT or [IPv6]:PORT") }
            }
            guard let authority = try peer.string("ca"), !authority.isEmpty else {
                throw peer.error("ca", "is required: the CA file trusted for \(PartyIdentity.broker(of: name).uri) (and for nothing else)")
            }
            var fingerprints: [String] = []
            let fromDevelopmentPKI = developmentDirectory.map { authority.hasPrefix($0 + "/") } ?? false
            if FileManager.default.isReadableFile(atPath: authority) {
                do { fingerprints = try CertificateFingerprint.sha256(ofPEMFile: authority) } catch {
                    throw peer.error("ca", "'\(authority)' holds no usable CA certificate: \(error)")
                }
            } else if !(fromDevelopmentPKI && !FileManager.default.fileExists(atPath: authority)) {
                throw peer.error("ca", "'\(authority)' cannot be read (relative paths are taken from the directory muster runs in)")
            }
            let exports = try peer.list("export") { (rule) throws(ConfigurationError) -> ExportRule in
                let types = try rule.stringOrList("types").map(Set.init)
                if types?.isEmpty == true { throw rule.error("types", "is empty, which would export nothing; leave it out to export every type") }
                return ExportRule(destination: try pattern(rule), types: types,
                           senders: try TopicConfiguration.selectors(rule, "senders", parties: parties, placeholder: false))
            }
            let imports = try peer.list("import") { (rule) throws(ConfigurationError) -> ImportRule in
                let destination = try pattern(rule)
                guard let localText = try rule.string("as") else { return ImportRule(destination: destination) }
                guard destination.isExact else {
                    throw rule.error("as", "renames one destination; '\(destination)' is a pattern (leave out `as` to keep the peer's names)")
                }
                let local: Destination
                do throws(BrokerError) { local = try Destination(parsing: localText) } catch { throw rule.error("as", "'\(localText)': \(error.message)") }
                guard !local.isReserved else { throw rule.error("as", "'\(localText)' is the broker's own (muster.); choose another name") }
                return ImportRule(destination: destination, localName: local)
            }
            var relay = RelaySettings()
            if let settings = try peer.section("relay") {
                relay.enabled = try settings.boolean("enabled", default: false)
                relay.hopLimit = try settings.integer("hop-limit", default: relay.hopLimit, minimum: 1)
                try settings.rejectUnknownKeys()
            }
            var link = LinkSettings()
            if let heartbeat = try peer.duration("heartbeat") {
                guard heartbeat >= 100, heartbeat <= 600_000 else { throw peer.error("heartbeat", "must be between 100ms and 10m") }
                link.heartbeat = Int(heartbeat)
            }
            link.prefetch = try peer.integer("prefetch", default: link.prefetch, minimum: 1)
            if let urgent = try peer.stringOrList("urgent-types") { link.urgentTypes = Set(urgent) }
            if let interval = try peer.duration("ack-evidence-interval") {
                guard interval >= 100, interval <= 3_600_000 else { throw peer.error("ack-evidence-interval", "must be between 100ms and 1h") }
                link.acknowledgementEvidenceInterval = Int(interval)
            }
            let workflows = try peer.boolean("workflows", default: true)
            return FederationPeer(jurisdiction: name, address: address, authorityPath: authority, authorityFingerprints: Set(fingerprints),
                                  exports: exports, imports: imports, relay: relay, link: link, workflows: workflows)
        }
        try section.rejectUnknownKeys()
        return FederationRules(peers: peers)
    }

    private static func pattern(_ rule: ConfigurationReader) throws(ConfigurationError) -> DestinationPattern {
        guard let text = try rule.string("destination") else { throw rule.error("destination", "is required") }
        // "/topic/" and "/queue/" are both 7 characters.
        guard !text.dropFirst(7).hasPrefix("muster.") else {
            throw rule.error("destination", "'\(text)' is the broker's own (muster.): it is neither exported nor imported")
        }
        do throws(BrokerError) { return try DestinationPattern(text) } catch { throw rule.error("destination", "'\(text)': \(error.message)") }
    }
}
