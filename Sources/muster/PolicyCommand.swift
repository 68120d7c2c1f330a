import ArgumentParser
import Foundation
import MusterBroker
import MusterServer
import MusterStomp
import MusterProtocol

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check the parties, topics and schemas offline, or ask what the policy allows.",
        subcommands: [Check.self, Explain.self, Refusals.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the parties, topics, schemas (and their examples), CA files and CRLs; explain each problem.")

        @Option(help: "Broker configuration file (it names the parties, topics and schema files).")
        var config = "Config/muster.yaml"

        func run() throws {
            let configuration = try loadConfiguration(config)
            let check = PolicyCheck.run(configuration.policyFiles)
            for warning in check.warnings { print("warning: \(warning)") }
            guard check.problems.isEmpty, let loaded = check.loaded else {
                for problem in check.problems { print("problem: \(problem)") }
                throw CommandFailure("the policy has \(check.problems.count) problem\(check.problems.count == 1 ? "" : "s"); the broker would refuse to start (or to reload) with it")
            }
            let policy = loaded.policy
            let examples = check.schemas.reduce(0) { $0 + $1.examples }
            print("""
            policy ok: \(policy.parties.count) parties in \(loaded.parties.jurisdictions.count) jurisdictions, \
            \(policy.topics.count) topics, \(check.schemas.count) schemas (\(examples) examples valid), \
            \(policy.trust.revokedSerials.values.reduce(0) { $0 + $1.count }) revoked certificates
            """)
            let monitors = policy.parties.values.filter { $0.kind == .monitor }.count
            print(configuration.webListen.map { "board: https://\($0)/ (client certificates; /metrics for the \(monitors) monitor part\(monitors == 1 ? "y" : "ies"))" }
                  ?? "board: not served (web.listen)")
            if let metrics = configuration.metricsListen { print("metrics: http://\(metrics)/metrics (loopback, plain HTTP)") }
            for peer in configuration.federation.peers {
                print("""
                federation peer \(peer.jurisdiction) (\(peer.brokerIdentity.uri), CA \(peer.authorityPath)): \
                \(peer.exports.count) export rule\(peer.exports.count == 1 ? "" : "s"), \(peer.imports.count) import rule\(peer.imports.count == 1 ? "" : "s"), \
                \(peer.address.map { "imports by connecting to \($0)" } ?? "imports nothing (it connects here)"), \
                relay \(peer.relay.enabled ? "on, hop limit \(peer.relay.hopLimit)" : "off")
                """)
            }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether a party may send to or subscribe to a destination, and by which rule.",
            discussion: """
            Examples:
              muster policy explain --party langxia-town --send /topic/summons --type summons
              muster policy explain --party shanta-village-grid --subscribe /queue/inbox.shanta-village-grid
              muster policy explain --party jinshan-public-security --send /queue/inbox.shanta-village-grid --type handoff --task drain-clearance
            """)

        @Option(help: ArgumentHelp("The party, by id (or jurisdiction/party when ids repeat).", valueName: "party"))
        var party: String

        @Option(help: ArgumentHelp("Explain a SEND to this destination.", valueName: "destination"))
        var send: String?

        @Option(help: ArgumentHelp("Explain a SUBSCRIBE to this destination.", valueName: "destination"))
        var subscribe: String?

        @Option(help: "The message type (the muster-type header).")
        var type: String?

        @Option(help: ArgumentHelp("A body file to validate against the type's schema.", valueName: "file"))
        var body: String?

        @Option(help: "Without --body: the task type the admission list should assume.")
        var task: String?

        @Option(help: "Broker configuration file.")
        var config = "Config/muster.yaml"

        func validate() throws {
            guard (send == nil) != (subscribe == nil) else { throw ValidationError("give either --send DESTINATION or --subscribe DESTINATION") }
            if subscribe != nil, type != nil || body != nil || task != nil {
                throw ValidationError("--type, --body and --task describe a SEND; drop them with --subscribe")
            }
        }

        func run() throws {
            let configuration = try loadConfiguration(config)
            let loaded: PolicyLoader.Loaded
            do { loaded = try PolicyLoader.load(configuration.policyFiles) } catch { throw CommandFailure("\(error)") }
            let identity = try resolve(party, in: loaded.policy)
            let bytes = try body.map { path -> [UInt8] in
                guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read the body file \(path)") }
                return Array(data)
            }
            do throws(BrokerError) {
                if let subscribe {
                    report(loaded.policy.decideSubscribe(try Destination(parsing: subscribe), by: identity), action: "subscribe to \(subscribe)")
                } else if let send {
                    var headers: [(String, String)] = []
                    if let type { headers.append((ReservedHeader.type, type)) }
                    let publication = Publication(destination: try Destination(parsing: send), headers: StompHeaders(headers),
                                                  body: bytes ?? [], sender: identity)
                    let decision = loaded.policy.decidePublish(publication, body: bytes == nil ? .skip(assumedTask: task) : .validate)
                    report(decision.map(\.1), action: "send to \(send)" + (bytes == nil ? " (body not checked: give --body FILE)" : ""))
                }
            } catch {
                throw CommandFailure(error.description)
            }
        }

        private func report(_ decision: Result<PolicyGrant, PolicyRefusal>, action: String) {
            switch decision {
            case .success(let grant):
                print("allowed: \(party) may \(action)\n  by rule: \(grant)")
            case .failure(let refusal):
                print("refused (\(refusal.code.rawValue)): \(refusal.error.message)\n  by rule: \(refusal.rule)")
                Foundation.exit(1)
            }
        }
    }
}

private func loadConfiguration(_ file: String) throws -> ServerConfiguration {
    do { return try ServerConfiguration.load(file: file) } catch { throw CommandFailure("\(error)") }
}

/// A party given as `id` or `jurisdiction/id`.
private func resolve(_ text: String, in policy: Policy) throws -> PartyIdentity {
    let matches = policy.parties.keys.filter { $0.description == text || $0.party == text }
    guard matches.count == 1 else {
        throw CommandFailure(matches.isEmpty ? "'\(text)' is not a party in the parties file"
                                             : "'\(text)' names parties in several jurisdictions; write jurisdiction/party")
    }
    return matches[0]
}
