import ArgumentParser
import MusterServer

struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Manage development certificates and revocations.",
        subcommands: [Initialize.self, Revoke.self])

    struct Initialize: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a development PKI: a CA per jurisdiction, the broker's certificate, one per party.",
            discussion: """
            Writes DIR/JURISDICTION/ca.crt and ca.key; DIR/JURISDICTION/broker.crt and .key, each jurisdiction's \
            broker with the URI name muster://JURISDICTION/broker (server and client use, SANs 127.0.0.1, ::1, \
            localhost), this broker's also as DIR/server.crt and server.key; \
            DIR/JURISDICTION/PARTY.crt and .key with the URI name muster://JURISDICTION/PARTY, \
            and DIR/ca-bundle.crt. Keys are written with mode 0600. Existing CAs are reused unless --replace \
            (which also removes a replaced CA's revocation list, DIR/JURISDICTION/ca.crl).
            """)

        @Option(help: "Broker configuration file (names the parties file and the broker's jurisdiction).")
        var config = "Config/muster.yaml"

        @Option(help: ArgumentHelp("Output directory.", valueName: "dir"))
        var out = ".muster/certs"

        @Flag(help: "Create new CAs even if some exist (invalidates every certificate they issued).")
        var replace = false

        @Option(name: .customLong("host"), help: ArgumentHelp("A DNS name the brokers' certificates carry besides 127.0.0.1 and ::1, for clients and peer brokers that connect by that name (repeatable; default localhost).", valueName: "name"))
        var hosts: [String] = []

        func run() throws {
            let configuration: DevelopmentPKISettings
            do { configuration = try DevelopmentPKISettings.load(file: config) } catch { throw CommandFailure("\(error)") }
            let report: DevelopmentPKI.Report
            do {
                report = try DevelopmentPKI.create(parties: configuration.parties, brokerJurisdiction: configuration.jurisdiction,
                                                   brokerHostNames: hosts.isEmpty ? ["localhost"] : hosts, in: out, replace: replace)
            } catch {
                throw CommandFailure("cannot create certificates in \(out): \(error)")
            }
            for path in report.reused { print("reused  \(path)") }
            for path in report.created { print("created \(path)") }
            for path in report.removed { print("removed \(path) (its CA was replaced)") }
        }
    }
}
