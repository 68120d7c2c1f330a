import Foundation
import MusterTestSupport
import Testing

/// The exporting side of a federation link, read by a stomp.py script that holds Pinghu's
/// broker certificate (Interop/stomp_export_reader.py): the link is plain STOMP, so anything
/// that holds the certificate can be an importer. Jinshan exports `/topic/joint.**` to Pinghu.
@Suite("a peer broker reads its export destination")
struct ExportStreamTests {
    static func settings(_ pki: TestPKI) -> String {
        """
        federation:
          peers:
            - jurisdiction: pinghu
              ca: \(pki.pinghuAuthority)
              export:
                - {destination: "/topic/joint.**"}
        """
    }

    /// Starts Jinshan's broker with Pinghu as a peer: the PKI must exist before the settings name its CA.
    static func startJinshan() throws -> BrokerProcess {
        let directory = try TemporaryDirectory(prefix: "muster-export")
        let pki = try TestPKI(in: directory.path)
        return try BrokerProcess.start(in: directory, settings: settings(pki))
    }

    func read(_ broker: BrokerProcess, as files: ClientFiles, start: String, count: Int) async throws -> (messages: [[String: Any]], errors: [String], acked: Bool) {
        let run = try await PythonScript.run("stomp_export_reader.py", [
            broker.address.host, String(broker.address.port), broker.pki.jinshanAuthority, files.certificate, files.key,
            "pinghu", start, String(count),
        ])
        #expect(run.status == 0, "stomp_export_reader.py failed:\n\(run.output)")
        let report = try #require(PythonScript.jsonLines(run.stdout).last, "no report:\n\(run.output)")
        return (report["messages"] as? [[String: Any]] ?? [], report["errors"] as? [String] ?? [], report["acked"] as? Bool ?? false)
    }

    @Test func pinghusBrokerReadsExactlyWhatIsExportedToItWithOriginKeysAndResumesFromAnOffset() async throws {
        let broker = try Self.startJinshan()
        defer { broker.stop() }
        let town = try await broker.connect("langxia-town")
        for (destination, text) in [("/topic/joint.notices", "one"), ("/topic/joint.notices", "two"), ("/topic/local.notes", "private"),
                                    ("/topic/joint.patrol", "three")] {
            try await town.publish(to: destination, text: text, receipt: true)
        }
        try await town.disconnect()

        let pinghu = try broker.pki.client("broker", jurisdiction: "pinghu")
        let all = try await read(broker, as: pinghu, start: "first", count: 3)
        #expect(all.errors.isEmpty, "\(all.errors)")
        #expect(all.acked)
        #expect(all.messages.map { $0["body"] as? String } == ["one", "two", "three"], "\(all.messages)")
        #expect(all.messages.map { $0["destination"] as? String } == ["/topic/joint.notices", "/topic/joint.notices", "/topic/joint.patrol"])
        #expect(all.messages.map { $0["sender"] as? String } == Array(repeating: "langxia-town", count: 3), "\(all.messages)")
        #expect(all.messages.allSatisfy { $0["export"] is NSNull }, "the export stamp is the exporter's own business")
        let offsets = all.messages.compactMap { $0["offset"] as? Int }
        #expect(offsets.count == 3 && offsets == offsets.sorted() && Set(offsets).count == 3)
        var logIDs = Set<String>()
        for message in all.messages {
            let origin = try #require(message["origin"] as? String)
            let parts = origin.split(separator: "/")
            #expect(parts.count == 2 && parts[0].count == 32 && Int(parts[1]) == message["offset"] as? Int, "\(origin)")
            logIDs.insert(String(parts[0]))
            #expect(message["link"] as? String == origin, "a record first published here is its own link position")
            #expect((message["hash"] as? String)?.count == 64)
        }
        #expect(logIDs.count == 1)

        // The importer's log says where it stopped: it resumes there, and gets nothing before it.
        let resumed = try await read(broker, as: pinghu, start: "offset=\(offsets[1])", count: 2)
        #expect(resumed.messages.map { $0["body"] as? String } == ["two", "three"], "\(resumed.messages)")
        #expect(resumed.messages.map { $0["hash"] as? String } == Array(all.messages.map { $0["hash"] as? String }[1...]))
    }

    @Test func onlyThePeersOwnBrokerMayReadItsExportDestination() async throws {
        let broker = try Self.startJinshan()
        defer { broker.stop() }
        let pki = broker.pki

        // An ordinary party, even with a valid certificate, may not.
        let party = try await read(broker, as: try pki.client("langxia-town", jurisdiction: "jinshan"), start: "first", count: 1)
        #expect(party.messages.isEmpty)
        #expect(party.errors.contains { $0.contains("read only by the broker of pinghu") }, "\(party.errors)")

        // Pinghu's broker name on a certificate from Jinshan's CA: refused at the connection.
        let forged = try await read(broker, as: try pki.client("forged-broker", jurisdiction: "jinshan", uriNames: ["muster://pinghu/broker"]),
                                    start: "first", count: 1)
        #expect(forged.messages.isEmpty)
        #expect(forged.errors.contains { $0.contains("not issued by the CA configured for peer pinghu") }, "\(forged.errors)")

        // Pinghu's CA vouches for Pinghu's broker only: a broker certificate it issued for Jinshan is refused.
        let other = try await read(broker, as: try pki.client("other-broker", jurisdiction: "pinghu", uriNames: ["muster://jinshan/broker"]),
                                   start: "first", count: 1)
        #expect(other.messages.isEmpty)
        #expect(other.errors.contains { $0.contains("is not a federation peer") || $0.contains("not issued by") }, "\(other.errors)")
    }
}
