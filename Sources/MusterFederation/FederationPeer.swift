public import MusterBroker
public import MusterProtocol

/// A peer broker this broker links with, as `federation.peers` in muster.yaml names it: its
/// jurisdiction (its broker is `muster://JURISDICTION/broker`), where to reach it, the CA this
/// broker trusts for that jurisdiction only, what goes to it and what is taken from it.
public struct FederationPeer: Sendable, Equatable {
    public let jurisdiction: String
    /// Where this broker connects to import from the peer (`HOST:PORT`); nil when the peer only
    /// imports from this broker (it connects here).
    public let address: String?
    /// The CA file trusted for the peer's broker certificate, and for nothing else.
    public let authorityPath: String
    /// SHA-256 fingerprints of the certificates in `authorityPath`: a peer's broker certificate
    /// must chain to one of them.
    public let authorityFingerprints: Set<String>
    public let exports: [ExportRule]
    public let imports: [ImportRule]
    public let relay: RelaySettings
    public let link: LinkSettings
    /// Whether the cases that name the peer's parties (summonses, hand-offs, joint operations)
    /// are followed by both brokers, their records crossing the link whatever the export and
    /// import rules say (`WorkflowBook+CrossBorder.swift`). On by default.
    public let workflows: Bool

    public init(jurisdiction: String, address: String?, authorityPath: String, authorityFingerprints: Set<String> = [],
                exports: [ExportRule], imports: [ImportRule], relay: RelaySettings = RelaySettings(), link: LinkSettings = LinkSettings(),
                workflows: Bool = true) {
        self.link = link
        self.workflows = workflows
        self.jurisdiction = jurisdiction
        self.address = address
        self.authorityPath = authorityPath
        self.authorityFingerprints = authorityFingerprints
        self.exports = exports
        self.imports = imports
        self.relay = relay
    }

    /// The identity the peer's broker certificate must name.
    public var brokerIdentity: PartyIdentity { .broker(of: jurisdiction) }

    /// Where the peer subscribes, at this broker, to what this broker exports to it in `lane`.
    /// Reserved (`muster.`): only the peer's broker may subscribe to it.
    public func exportDestination(_ lane: LinkLane) -> Destination { Self.exportDestination(to: jurisdiction, lane) }

    /// Where the broker of `jurisdiction` reads what a peer exports to it in `lane` (at that peer).
    public static func exportDestination(to jurisdiction: String, _ lane: LinkLane) -> Destination {
        Destination(kind: .queue, name: FederationHeader.exportDestinationPrefix + jurisdiction + (lane == .urgent ? FederationHeader.urgentLaneSuffix : ""))
    }
}

/// Which records go to a peer: those on destinations matching `destination`, of one of
/// `types` (nil: any), sent by a party one of `senders` names (empty: any).
public struct ExportRule: Sendable, Equatable {
    public let destination: DestinationPattern
    public let types: Set<String>?
    public let senders: [PartySelector]

    public init(destination: DestinationPattern, types: Set<String>? = nil, senders: [PartySelector] = []) {
        self.destination = destination
        self.types = types
        self.senders = senders
    }

    /// `sender` is the registered party that sent the message (nil: not a party of the policy).
    public func exports(_ destination: Destination, type: String?, sender: RegisteredParty?) -> Bool {
        // The broker's own destinations (muster.: refusals, the log identity) never cross.
        guard !destination.isReserved, self.destination.matches(destination) else { return false }
        if let types, !(type.map(types.contains) ?? false) { return false }
        if senders.isEmpty { return true }
        guard let sender else { return false }
        return senders.contains { $0.matches(sender, boundParty: nil) }
    }
}

/// Which of a peer's destinations this broker accepts, and under which local name.
public struct ImportRule: Sendable, Equatable {
    public let destination: DestinationPattern
    /// The local destination (nil: the same name as at the peer). Only for an exact `destination`.
    public let localName: Destination?

    public init(destination: DestinationPattern, localName: Destination? = nil) {
        self.destination = destination
        self.localName = localName
    }

    /// Where a record the peer published on `destination` is stored here; nil when not accepted.
    public func localDestination(for destination: Destination) -> Destination? {
        guard !destination.isReserved, self.destination.matches(destination) else { return nil }
        return localName ?? destination
    }
}

/// Relaying with this peer: passing on to it what came from another peer, and taking from it
/// what it relays. Off by default (split horizon: only records that originated here are
/// exported, and only the peer's own records are taken), so a full mesh has no loops.
public struct RelaySettings: Sendable, Equatable {
    public var enabled = false
    /// How many links a relayed record may cross in all, counting the one to this peer (so 1
    /// relays nothing).
    public var hopLimit = 2

    public init(enabled: Bool = false, hopLimit: Int = 2) {
        self.enabled = enabled
        self.hopLimit = hopLimit
    }
}

/// How this broker's import link from the peer runs.
public struct LinkSettings: Sendable, Equatable {
    /// Heart-beats both ways, in milliseconds: silence of twice this drops the connection.
    public var heartbeat = 5_000
    /// Records the peer may send ahead of this broker's acknowledgements. Enough for more than
    /// one of this broker's log batches to be in flight: with 1,000, one batch took the whole
    /// window and each side waited for the other in turn (a backlog drained about 20% slower).
    public var prefetch = 4_000
    /// The message types this broker sends to the peer in the urgent lane (a setting of the
    /// exporter: the importer takes both lanes).
    public var urgentTypes: Set<String> = Self.defaultUrgentTypes
    /// How often, at most, this broker records how far the peer has acknowledged while its link
    /// is up, in milliseconds (a setting of the exporter).
    public var acknowledgementEvidenceInterval = 10_000

    public static let defaultUrgentTypes: Set<String> = ["summons", "report-in", "escalation"]

    /// Whether an import link with these settings behaves as one with `other`'s (the urgent types
    /// and the evidence interval are the exporter's: changing them restarts no import link).
    public func importsAlike(_ other: LinkSettings) -> Bool {
        heartbeat == other.heartbeat && prefetch == other.prefetch
    }

    public init() {}
}
