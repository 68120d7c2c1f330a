import Foundation
import Glibc
import MusterClient
import MusterNet
import MusterTestSupport
import Testing

/// The shipped two-jurisdiction example, as a newcomer starts it: from one directory,
/// `muster serve --config Config/muster.yaml` and `--config Config/muster-pinghu.yaml`. The
/// files are copied with free ports in place of 61614 and 61624; nothing else changes.
@Suite("the shipped two-jurisdiction example")
struct ShippedFederationTests {
    static let repository = URL(fileURLWithPath: BrokerProcess.schemasDirectory).deletingLastPathComponent().path

    static func freePort() throws -> Int {
        let socket = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
        defer { close(socket) }
        return Int(try Socket.localPort(socket))
    }

    @Test func bothBrokersStartFromOneDirectoryLinkAndANoticeCrossesTheBorder() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-shipped")
        defer { directory.remove() }
        let ports = (try Self.freePort(), try Self.freePort(), try Self.freePort(), try Self.freePort())
        try FileManager.default.createDirectory(atPath: directory.file("Config"), withIntermediateDirectories: true)
        for file in ["muster.yaml", "muster-pinghu.yaml", "parties.yaml", "topics.yaml"] {
            let text = try String(contentsOfFile: "\(Self.repository)/Config/\(file)", encoding: .utf8)
                .replacingOccurrences(of: "61614", with: "\(ports.0)").replacingOccurrences(of: "61624", with: "\(ports.1)")
                .replacingOccurrences(of: "8443", with: "\(ports.2)").replacingOccurrences(of: "8444", with: "\(ports.3)")
            try text.write(toFile: directory.file("Config/\(file)"), atomically: true, encoding: .utf8)
        }
        try FileManager.default.createSymbolicLink(atPath: directory.file("Schemas"), withDestinationPath: BrokerProcess.schemasDirectory)
        let muster = BrokerProcess.musterExecutable()
        let jinshan = try RunningProgram(muster, ["serve", "--config", "Config/muster.yaml"], directory: directory.path)
        defer { jinshan.terminate(); _ = jinshan.waitUntilExit() }
        #expect(jinshan.blockUntilOutput(containing: " listening on ", timeout: .seconds(30)), "\(jinshan.output)")
        let pinghu = try RunningProgram(muster, ["serve", "--config", "Config/muster-pinghu.yaml"], directory: directory.path)
        defer { pinghu.terminate(); _ = pinghu.waitUntilExit() }
        #expect(pinghu.blockUntilOutput(containing: " listening on ", timeout: .seconds(30)), "\(pinghu.output)")

        for (config, peer) in [("Config/muster.yaml", "pinghu"), ("Config/muster-pinghu.yaml", "jinshan")] {
            try await eventually(timeout: .seconds(60), "muster federation status (\(config)) to show \(peer) connected") {
                let run = try await runMuster(["federation", "status", "--config", config], directory: directory.path)
                // Both lanes of the link, each on its own connection.
                return run.stdout.contains("\(peer) (bulk lane) at 127.0.0.1:") && run.stdout.contains("\(peer) (urgent lane) at 127.0.0.1:")
                    && run.stdout.components(separatedBy: ": connected since").count - 1 == 2
            }
        }

        let certificates = directory.file(".muster/certs")
        func options(_ party: String, _ jurisdiction: String, port: Int) -> ClientOptions {
            ClientOptions(server: SocketAddress(host: "127.0.0.1", port: UInt16(port)),
                          identity: ClientIdentity(certificatePath: "\(certificates)/\(jurisdiction)/\(party).crt",
                                                   privateKeyPath: "\(certificates)/\(jurisdiction)/\(party).key",
                                                   trustedAuthorityPaths: ["\(certificates)/ca-bundle.crt"]))
        }
        let reader = try await MusterConnection.connect(options("guangchen-town", "pinghu", port: ports.1))
        let notices = try await reader.subscribe(to: "/topic/notices")
        let town = try await MusterConnection.connect(options("langxia-town", "jinshan", port: ports.0))
        try await town.publish(to: "/topic/notices", text: "河道联合巡查 明早八点", receipt: true)
        var iterator = notices.makeAsyncIterator()
        let arrived = try await iterator.next()
        #expect(arrived?.bodyText == "河道联合巡查 明早八点")
        #expect(arrived?.sender == "langxia-town" && arrived?.senderJurisdiction == "jinshan")
        #expect(arrived?.headers["muster-via"] == "jinshan")
        try await town.disconnect()
        try await reader.disconnect()
    }
}
