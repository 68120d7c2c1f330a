import ArgumentParser
import Dispatch
import Foundation
import Logging
import MusterNet
import MusterServer
import MusterWeb

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the broker.",
        discussion: """
        Reads the broker settings (and the parties file they name). When the TLS files are \
        missing and tls.development-certificates is set, creates a development PKI there first.
        Stops gracefully on SIGINT or SIGTERM. On SIGHUP (or `muster reload`) it re-reads the \
        parties, topics, schemas and CRLs; a broken configuration is rejected and the old one stays.

        Tests only: MUSTER_TEST_CLOCK=RATE (or RATE,WALL_MS,READING_MS) runs the broker's clock \
        RATE times as fast, so that workflow deadlines pass in seconds. Never set it in production.
        """)

    @Option(help: "Broker configuration file.")
    var config = "Config/muster.yaml"

    @Option(help: ArgumentHelp("Listen address, overriding the file's `listen`.", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("Data directory, overriding the file's `data-directory`.", valueName: "dir"))
    var data: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    @Flag(help: "Read and check every record of the log at start-up (chain hashes included), not only those written since the sealed segments' index files; rewrites those files.")
    var verifyAll = false

    func run() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "muster")
        try createDevelopmentCertificatesIfMissing()
        var configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(file: config)
            if let listen { configuration.listen = try SocketAddress(parsing: listen) }
            if let data { configuration.dataDirectory = data }
            configuration.log.verifyAll = verifyAll
        } catch {
            throw CommandFailure("\(error)")
        }
        // Monitors read the metrics over HTTPS too: kept whenever either address is set.
        let registry = configuration.metricsListen != nil || configuration.webListen != nil ? MetricsSetup.bootstrap() : nil
        let server: BrokerServer
        do {
            if let clock = CommandClock.setting {
                logger.warning("\(CommandClock.variable): the broker's clock runs \(clock.rate)× (tests only); it reads \(CommandClock.now()) now")
                server = try BrokerServer(configuration: configuration, logger: logger, clock: { CommandClock.now() }, speed: clock.rate)
            } else {
                server = try BrokerServer(configuration: configuration, logger: logger)
            }
        } catch { throw CommandFailure("cannot start: \(error)") }
        let control = BrokerControlFiles(dataDirectory: configuration.dataDirectory)
        // Before listening: a SIGTERM that arrives as soon as the broker listens stops it gracefully.
        let signals = TerminationSignals(onReload: {
            do {
                try server.reload()
                control.writeReloadOutcome("reloaded")
            } catch {
                logger.error("reload rejected; the previous policy stays in force: \(error)")
                control.writeReloadOutcome("rejected: \(error)")
            }
        })
        // Before listening too: whoever sees the broker listen finds its process id for `muster reload`.
        control.writeProcessID()
        let address: SocketAddress
        do { address = try server.start() } catch { control.removeProcessID(); throw CommandFailure("cannot start: \(error)") }
        var metrics: (server: MetricsServer, loops: EventLoopGroup)?
        var board: (server: BoardServer, loops: EventLoopGroup)?
        let endpoint = registry.map { MetricsSetup.endpoint(registry: $0, server: server) }
        if let endpoint { server.board.serveMetrics { endpoint.exposition() } }
        do {
            if let endpoint, let metricsAddress = configuration.metricsListen {
                do { metrics = try MetricsSetup.serve(at: metricsAddress, endpoint: endpoint, logger: logger) } catch {
                    throw CommandFailure("cannot serve metrics at \(metricsAddress) (web.metrics-listen): \(error)")
                }
            }
            if let webAddress = configuration.webListen {
                do { board = try BoardSetup.serve(at: webAddress, server: server, logger: logger) } catch {
                    throw CommandFailure("cannot serve the board at \(webAddress) (web.listen): \(error)")
                }
            }
        } catch {
            metrics?.server.close()
            metrics?.loops.shutdown()
            server.shutdown()
            control.removeProcessID()
            throw error
        }
        printHowToConnect(address, configuration, server.connectionExample, board: board.map { SocketAddress(host: configuration.webListen!.host, port: $0.server.boundPort) })
        signals.wait()
        logger.info("shutting down")
        board?.server.close()
        board?.loops.shutdown()
        metrics?.server.close()
        metrics?.loops.shutdown()
        server.shutdown()
        control.removeProcessID()
    }

    /// Before the whole configuration is checked: a federation peer's CA may be one this creates.
    private func createDevelopmentCertificatesIfMissing() throws {
        let settings: DevelopmentPKISettings
        do { settings = try DevelopmentPKISettings.load(file: config) } catch { throw CommandFailure("\(error)") }
        guard let directory = settings.developmentDirectory, !FileManager.default.fileExists(atPath: settings.certificatePath) else { return }
        do {
            let report = try DevelopmentPKI.create(parties: settings.parties, brokerJurisdiction: settings.jurisdiction, in: directory)
            print("muster: created a development PKI in \(directory) (\(report.created.count) files); do not use it in production")
        } catch {
            throw CommandFailure("cannot create development certificates in \(directory): \(error)")
        }
    }

    /// The first screen a newcomer reads: where the broker listens and a `muster sub` (and
    /// `muster pub`) that the policy in force allows, run from the same directory.
    private func printHowToConnect(_ address: SocketAddress, _ configuration: ServerConfiguration, _ example: ConnectionExample?, board: SocketAddress?) {
        var lines = ["muster: broker \(configuration.brokerName) (\(configuration.jurisdiction)) listening on \(address) — STOMP 1.2 over mutual TLS"]
        if let example {
            let certificates = configuration.developmentCertificatesDirectory ?? "<your certificates>"
            let party = "\(example.jurisdiction)/\(example.party)"
            let connection = "--server \(address) --cert \(certificates)/\(party).crt --key \(certificates)/\(party).key --ca \(certificates)/ca-bundle.crt"
            lines.append("  subscribe as \(party):")
            lines.append("    muster sub \(example.destination) \(connection)")
            if example.mayPublishText {
                lines.append("  and publish to it from another terminal:")
                lines.append("    muster pub \(example.destination) \(ConnectionExample.text) \(connection)")
            }
        } else {
            lines.append("  the policy lets no party subscribe to a declared destination (\(configuration.topicsFile)); see `muster policy explain`")
        }
        if let board { lines.append("  the board: https://\(board)/ (a browser with a party's client certificate; README, \"The board\")") }
        lines.append("  stop with Ctrl-C")
        print(lines.joined(separator: "\n"))
        fflush(nil)
    }
}

/// SIGINT and SIGTERM stop the broker gracefully; SIGHUP reloads its policy.
private struct TerminationSignals {
    private let done = DispatchSemaphore(value: 0)
    private let sources: [any DispatchSourceSignal]

    init(onReload: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "muster.reload"))
        reload.setEventHandler(handler: onReload)
        reload.resume()
        var sources: [any DispatchSourceSignal] = [reload]
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [done] in done.signal() }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// Returns once SIGINT or SIGTERM arrived.
    func wait() {
        done.wait()
        _ = sources
    }
}
