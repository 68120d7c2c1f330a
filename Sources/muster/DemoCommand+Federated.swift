import Foundation
import Logging
import MusterFederation
import MusterLog
import MusterNet
import MusterServer
import MusterWorkflow

extension DemoCommand {
    /// Each broker signs its log's head often, so that the audit at the end has checkpoints to check.
    static let linkedLog = "{fsync: always, checkpoint-interval: 2s}"

    /// Two brokers in this process, each with its own log and (development) CA, linked over mutual
    /// TLS through a line the story cuts; the same story clock for both.
    func runFederated(in directory: String, clock: StoryClock, logger: Logger) async throws {
        let certificates = "\(directory)/certs"
        // Each broker's link to the other goes through a line of its own (the story cuts both).
        let toPinghu = try BreakableLine(to: SocketAddress(host: "127.0.0.1", port: 1))
        let toJinshan = try BreakableLine(to: SocketAddress(host: "127.0.0.1", port: 1))
        defer { toPinghu.stop(); toJinshan.stop() }
        func peer(_ jurisdiction: String, at line: BreakableLine) -> String {
            """
            federation:
              peers:
                - {jurisdiction: \(jurisdiction), address: "\(line.address)", ca: \(certificates)/\(jurisdiction)/ca.crt, heartbeat: 1s}
            """
        }
        func configuration(_ jurisdiction: String, linkedTo peerJurisdiction: String, through line: BreakableLine) throws -> ServerConfiguration {
            try DemoSetup.configuration(in: "\(directory)/\(jurisdiction)", certificates: certificates, parties: parties, topics: topics,
                                        schemas: schemas, jurisdiction: jurisdiction, log: Self.linkedLog, more: peer(peerJurisdiction, at: line))
        }
        // Read again once the CAs exist: a peer's CA is read when the configuration is.
        try DemoSetup.certificates(for: try configuration("jinshan", linkedTo: "pinghu", through: toPinghu), in: certificates)
        let jinshan = try configuration("jinshan", linkedTo: "pinghu", through: toPinghu)
        let pinghu = try configuration("pinghu", linkedTo: "jinshan", through: toJinshan)
        var servers: [BrokerServer] = []
        defer { for server in servers { server.shutdown() } }
        var addresses: [String: SocketAddress] = [:]
        for configuration in [jinshan, pinghu] {
            do {
                let server = try BrokerServer(configuration: configuration, logger: logger, clock: { clock.now() }, speed: speed)
                servers.append(server)
                addresses[configuration.jurisdiction] = try server.start()
            } catch {
                throw CommandFailure("cannot start the demo's \(configuration.jurisdiction) broker: \(error)")
            }
        }
        toPinghu.retarget(addresses["pinghu"]!)
        toJinshan.retarget(addresses["jinshan"]!)
        print("Muster demo across the border: Jinshan's broker on \(addresses["jinshan"]!), Pinghu's on \(addresses["pinghu"]!), "
              + "linked over mutual TLS (each with its own CA in \(certificates)), speed \(Int(speed))×\n")
        do {
            let story = try await DemoStory.begin(cast: DemoStory.borderCast, address: { addresses[$0]! }, certificates: certificates, clock: clock)
            try await story.playAcrossTheBorder(lines: [toPinghu, toJinshan])
            let onJinshan = try await story.summonsView()
            let onPinghu = try await story.summonsView(as: "guangchen-town")
            print("\nSummons \(story.summonsID), as `muster summons show \(story.summonsID)` prints it on Jinshan's broker:\n")
            print(WorkflowPrinter.summons(onJinshan))
            print(onJinshan == onPinghu ? "\nPinghu's broker shows the same summons, party for party and time for time."
                  : "\nPinghu's broker shows it differently:\n\(WorkflowPrinter.summons(onPinghu))")
            print("\nAssessment of Pinghu's parties, as `muster report --jurisdiction pinghu` prints it on either broker:\n")
            print(WorkflowPrinter.assessmentTable(try await story.assessment(as: "guangchen-town", jurisdiction: "pinghu")))
            await story.finish()
        } catch {
            throw CommandFailure("the demo stopped: \(error)")
        }
        for server in servers { server.shutdown() }
        servers = []
        // Each broker's head, signed with its key as the brokers stop (`muster log checkpoint`), for the
        // auditor to keep: with them every record that crossed is covered by its origin's signature.
        var kept: [LogCheckpoint] = []
        for configuration in [jinshan, pinghu] {
            do {
                kept.append(try LogCheckpoint.sign(dataDirectory: configuration.dataDirectory, certificateFile: configuration.certificatePath,
                                                   privateKeyFile: configuration.privateKeyPath))
            } catch {
                throw CommandFailure("cannot sign \(configuration.jurisdiction)'s checkpoint: \(error)")
            }
        }
        print("\n`muster federation verify --data jinshan --data pinghu --ca jinshan=… --ca pinghu=… --checkpoint … --checkpoint … --require-signatures`:")
        let audit = try FederationAudit.run(dataDirectories: [jinshan.dataDirectory, pinghu.dataDirectory],
                                            authorities: ["jinshan": ["\(certificates)/jinshan/ca.crt"], "pinghu": ["\(certificates)/pinghu/ca.crt"]],
                                            kept: kept, requireSignatures: true)
        let verified = FederationCommand.Verify.print(audit)
        if keep {
            print("\nkept \(directory): muster federation verify --data \(jinshan.dataDirectory) --data \(pinghu.dataDirectory) "
                  + "--ca jinshan=\(certificates)/jinshan/ca.crt --ca pinghu=\(certificates)/pinghu/ca.crt")
        }
        if !verified { throw CommandFailure("the two logs do not agree on what crossed") }
    }
}
