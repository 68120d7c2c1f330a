import Foundation
public import MusterNet
public import MusterStomp
public import MusterBroker
public import MusterLog
public import MusterProtocol
public import MusterFederation

/// Everything `muster serve` reads from `Config/muster.yaml` (and the parties file it names).
public struct ServerConfiguration: Sendable {
    public var file: String
    public var brokerName: String
    /// The jurisdiction this broker belongs to; its CA signs the broker's certificate.
    public var jurisdiction: String
    public var listen: SocketAddress
    public var dataDirectory: String
    /// fsync policy, segment size and retention of the durable log.
    public var log: LogSettings
    /// Ack-wait, max-deliveries and dead letters, per destination (`delivery:`).
    public var delivery: DeliveryRules
    public var certificatePath: String
    public var privateKeyPath: String
    /// Extra trusted CA files, beyond each jurisdiction's CA from the parties file.
    public var extraAuthorityPaths: [String]
    public var minimumTLSVersion: TLSVersion
    /// Where `serve` creates a development PKI when the certificate files are missing (nil: never).
    public var developmentCertificatesDirectory: String?
    public var limits: StompLimits
    /// Connections in all and per party, unfinished frames' memory and time (`limits:`).
    var connectionLimits = ConnectionLimits.Settings()
    public var session: SessionSettings
    /// How long, and how many, publish ids are remembered (`publish-ids:`).
    public var publishIDs = PublishIDSettings()
    /// The peer brokers and what goes to and comes from each (`federation:`).
    public var federation = FederationRules()
    public var heartbeatTolerance: Double
    public var eventLoopCount: Int
    /// How long the broker must be quiet (no appends, no connections opened or closed) before it
    /// returns freed heap memory to the system, checked once per such period (nil: never).
    public var memoryReturnQuietPeriod: Duration? = .seconds(5)
    /// Where `GET /metrics` is served in plain HTTP (`web.metrics-listen`; loopback only); nil: not served.
    public var metricsListen: SocketAddress?
    /// Where the board (and `/metrics` for monitors) is served over HTTPS (`web.listen`); nil: not served.
    public var webListen: SocketAddress?
    public var partiesFile: String
    public var parties: PartyDirectory
    /// The topics file and the schema directory (with `partiesFile`: the policy).
    public var topicsFile: String
    public var schemasDirectory: String

    public var policyFiles: PolicyFiles {
        PolicyFiles(partiesFile: partiesFile, topicsFile: topicsFile, schemasDirectory: schemasDirectory)
    }

    /// The broker's own identity: the sender of the records it writes itself (refusals).
    public var brokerIdentity: PartyIdentity {
        PartyIdentity(uri: "muster://\(jurisdiction)/\(brokerName)") ?? PartyIdentity(jurisdiction: jurisdiction, party: "broker")
    }

    /// Every CA file the broker trusts for client certificates: the parties' jurisdictions', the
    /// extra ones, and each federation peer's (which admission accepts for that peer's broker only).
    public var trustedAuthorityPaths: [String] {
        Self.authorityPaths(parties: parties.jurisdictions.flatMap(\.authorityPaths), extra: extraAuthorityPaths, federation: federation)
    }

    static func authorityPaths(parties: [String], extra: [String], federation: FederationRules) -> [String] {
        var paths = parties + extra
        for peer in federation.peers where !paths.contains(peer.authorityPath) { paths.append(peer.authorityPath) }
        return paths
    }

    /// Where and how the durable log is kept.
    public var logOptions: LogOptions {
        var options = LogOptions(dataDirectory: dataDirectory, segmentBytes: log.segmentBytes, fsync: log.fsync, retention: log.retention)
        options.verifyAll = log.verifyAll
        return options
    }

    public var tls: TLSConfiguration {
        TLSConfiguration(certificatePath: certificatePath, privateKeyPath: privateKeyPath,
                         trustedAuthorityPaths: trustedAuthorityPaths, minimumVersion: minimumTLSVersion)
    }

    /// Loads and validates the file; relative paths are taken from the current directory.
    public static func load(file: String) throws(ConfigurationError) -> ServerConfiguration {
        let root = try ConfigurationReader.load(file: file)
        let broker = try root.section("broker")
        let brokerName = try broker?.string("name", default: "muster") ?? "muster"
        let jurisdiction = try broker?.string("jurisdiction") ?? ""
        try broker?.rejectUnknownKeys()

        let listenText = try root.string("listen", default: "127.0.0.1:61614")
        let listen: SocketAddress
        do { listen = try SocketAddress(parsing: listenText) } catch { throw root.error("listen", error.description) }

        let dataDirectory = try root.string("data-directory", default: ".muster/data")
        let log = try LogSettings.read(try root.section("log"))
        var delivery = try DeliveryConfiguration.read(try root.section("delivery"))
        let tlsSection = try root.section("tls")
        let certificatePath = try tlsSection?.string("certificate") ?? ".muster/certs/server.crt"
        let privateKeyPath = try tlsSection?.string("private-key") ?? ".muster/certs/server.key"
        let extraAuthorities = try tlsSection?.stringList("extra-authorities") ?? []
        let versionText = try tlsSection?.string("min-version", default: "1.2") ?? "1.2"
        guard let minimumVersion = TLSVersion(rawValue: versionText) else {
            throw ConfigurationError(file: file, key: "tls.min-version", problem: "'\(versionText)' must be 1.2 or 1.3")
        }
        let developmentDirectory = try tlsSection?.string("development-certificates")
        try tlsSection?.rejectUnknownKeys()

        var (limits, session, connectionLimits, maxDurable, maxFanOutLag) = try Self.readLimits(try root.section("limits"))
        delivery.maxDurablePerParty = maxDurable
        delivery.maxFanOutLag = maxFanOutLag

        var publishIDs = PublishIDSettings()
        if let section = try root.section("publish-ids") {
            if let window = try section.duration("window") { publishIDs.window = window }
            publishIDs.capacity = try section.integer("max-remembered", default: publishIDs.capacity, minimum: 1)
            try section.rejectUnknownKeys()
        }

        let federationSection = try root.section("federation")

        let heartbeat = try root.section("heartbeat")
        session.heartbeatSend = try heartbeat?.integer("send-ms", default: session.heartbeatSend) ?? session.heartbeatSend
        session.heartbeatWant = try heartbeat?.integer("expect-ms", default: session.heartbeatWant) ?? session.heartbeatWant
        let tolerance = try heartbeat?.number("tolerance", default: 2.0, minimum: 1.0) ?? 2.0
        try heartbeat?.rejectUnknownKeys()

        let web = try Self.readWeb(try root.section("web"))

        let loops = try root.integer("event-loops", default: 0)
        let memoryReturnQuiet = try root.integer("memory-return-quiet-ms", default: 5000)
        let partiesText = try root.string("parties", default: "Config/parties.yaml")
        let topicsText = try root.string("topics", default: "Config/topics.yaml")
        let schemasText = try root.string("schemas", default: "Schemas")
        try root.rejectUnknownKeys()

        let parties = try PartyDirectory.load(file: partiesText)
        guard !jurisdiction.isEmpty else {
            throw ConfigurationError(file: file, key: "broker.jurisdiction", problem: "is required: name the jurisdiction (from \(partiesText)) this broker belongs to")
        }
        guard parties.jurisdiction(jurisdiction) != nil else {
            throw ConfigurationError(file: file, key: "broker.jurisdiction", problem: "'\(jurisdiction)' is not a jurisdiction in \(partiesText)")
        }
        let federation = try FederationConfiguration.read(federationSection, jurisdiction: jurisdiction, parties: parties,
                                                          developmentDirectory: developmentDirectory)
        var configuration = ServerConfiguration(
            file: file, brokerName: brokerName, jurisdiction: jurisdiction, listen: listen, dataDirectory: dataDirectory, log: log, delivery: delivery,
            certificatePath: certificatePath, privateKeyPath: privateKeyPath, extraAuthorityPaths: extraAuthorities,
            minimumTLSVersion: minimumVersion, developmentCertificatesDirectory: developmentDirectory,
            limits: limits, connectionLimits: connectionLimits, session: session, publishIDs: publishIDs, federation: federation, heartbeatTolerance: tolerance,
            eventLoopCount: loops == 0 ? System.coreCount : loops,
            memoryReturnQuietPeriod: memoryReturnQuiet == 0 ? nil : .milliseconds(memoryReturnQuiet), partiesFile: partiesText, parties: parties,
            topicsFile: topicsText, schemasDirectory: schemasText)
        configuration.metricsListen = web.metricsListen
        configuration.webListen = web.listen
        return configuration
    }

    /// `web: {listen: 0.0.0.0:8443, enabled: true, metrics-listen: 127.0.0.1:9464}`: where the board
    /// is served over HTTPS (nil when absent or `enabled: false`), and where metrics are served
    /// in plain HTTP to this host.
    static func readWeb(_ web: ConfigurationReader?) throws(ConfigurationError) -> (listen: SocketAddress?, metricsListen: SocketAddress?) {
        guard let web else { return (nil, nil) }
        var listen: SocketAddress?
        if let text = try web.string("listen") {
            do { listen = try SocketAddress(parsing: text) } catch { throw web.error("listen", error.description) }
        }
        if try !web.boolean("enabled", default: true) { listen = nil }
        let metricsListen = try readMetricsListen(web)
        try web.rejectUnknownKeys()
        return (listen, metricsListen)
    }

    /// `web.metrics-listen`. Plain HTTP, so only on a loopback address: a scraper elsewhere
    /// would read the broker's figures unauthenticated (it may use HTTPS and a monitor's certificate).
    static func readMetricsListen(_ web: ConfigurationReader) throws(ConfigurationError) -> SocketAddress? {
        guard let text = try web.string("metrics-listen") else { return nil }
        let address: SocketAddress
        do { address = try SocketAddress(parsing: text) } catch { throw web.error("metrics-listen", error.description) }
        let octets = address.host.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        guard (octets.count == 4 && !octets.contains(nil) && octets[0] == 127) || address.host == "::1" else {
            throw web.error("metrics-listen", "'\(text)' is not a loopback address: metrics are served in plain HTTP, so only to this host "
                            + "(127.0.0.1 or ::1); scrape from elsewhere over HTTPS (web.listen) with a certificate of a party of kind monitor")
        }
        return address
    }
}
