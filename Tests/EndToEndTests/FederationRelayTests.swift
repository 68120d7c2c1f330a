import Foundation
import MusterClient
import MusterTestSupport
import Testing

/// Relaying's edge cases, on the triangle of `BrokerTriangle`: a copy refused for its route does
/// not keep the other route's copy out, and copies stay single after relaying is turned off.
@Suite("relaying: refusals by route, and relaying turned off", .tags(.federation))
struct FederationRelayTests {
    static let destination = "/topic/joint.patrol"

    /// `importer`'s status of its bulk link from `exporter`, as `muster federation status --json` prints it.
    static func status(of triangle: BrokerTriangle, _ importer: String, from exporter: String) async throws -> [String: Any] {
        let run = try await runMuster(["federation", "status", "--data", triangle[importer].dataDirectory, "--json"])
        let links = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]] ?? []
        return links.first { $0["peer"] as? String == exporter && $0["lane"] as? String == "bulk" } ?? [:]
    }

    /// The copies of Jinshan's record at `offset` that Jiashan stored (not refused), read offline.
    static func storedCopies(_ triangle: BrokerTriangle, offset: UInt64) throws -> [String] {
        let jinshan = try triangle.archive(of: "jinshan").logID
        return try triangle.archive(of: "jiashan").imported.filter { $0.origin == "\(jinshan)/\(offset)" && $0.refusal == nil }.map(\.via)
    }

    @Test func aRelayedCopyRefusedForItsRouteDoesNotKeepTheDirectCopyOut() async throws {
        // Jiashan does not take relayed records from Pinghu: it refuses Pinghu's copy.
        let triangle = try await BrokerTriangle.start(relayOff: [BrokerTriangle.Link(importer: "jiashan", exporter: "pinghu")])
        defer { triangle.remove() }
        let publisher = try await triangle["jinshan"].connect("langxia-town", jurisdiction: "jinshan")
        let first = try await LinkedBrokers.publish(publisher, to: Self.destination, "patrol 1")
        try await eventually(timeout: .seconds(30), "Jiashan to take Jinshan's first record directly") {
            (try await triangle.lastTaken(by: "jiashan"))["jinshan"] ?? 0 >= first
        }
        try await triangle.cut("jinshan", "jiashan")
        let offset = try await LinkedBrokers.publish(publisher, to: Self.destination, "patrol 2, during the cut")
        try await eventually(timeout: .seconds(30), "Jiashan to refuse Pinghu's relayed copy") {
            (try await Self.status(of: triangle, "jiashan", from: "pinghu"))["refused"] as? Int ?? 0 >= 1
        }
        try await triangle.restore("jinshan", "jiashan")
        try await eventually(timeout: .seconds(30), "Jiashan's direct link to take the record") {
            (try await triangle.lastTaken(by: "jiashan"))["jinshan"] ?? 0 >= offset
        }
        try await publisher.disconnect()
        triangle.halt()
        #expect(try Self.storedCopies(triangle, offset: offset) == ["jinshan"], "stored once, directly")
    }

    @Test func copiesStaySingleAfterRelayingIsTurnedOffAndTheBrokerRestarts() async throws {
        let triangle = try await BrokerTriangle.start()
        defer { triangle.remove() }
        var publisher = try await triangle["jinshan"].connect("langxia-town", jurisdiction: "jinshan")
        let first = try await LinkedBrokers.publish(publisher, to: Self.destination, "patrol 1")
        try await eventually(timeout: .seconds(30), "Jiashan to take Jinshan's first record directly") {
            (try await triangle.lastTaken(by: "jiashan"))["jinshan"] ?? 0 >= first
        }
        try await triangle.cut("jinshan", "jiashan")
        let offset = try await LinkedBrokers.publish(publisher, to: Self.destination, "patrol 2, during the cut")
        try await triangle.restore("jinshan", "jiashan")
        // The direct link drops its copy (Pinghu's relayed one was stored) and moves past it.
        try await eventually(timeout: .seconds(30), "Jiashan's direct link to pass the record") {
            (try await triangle.lastTaken(by: "jiashan"))["jinshan"] ?? 0 >= offset
        }
        // Relaying off at Jiashan, and a restart: its direct link starts from its log, before the
        // copy it dropped, and is sent it again.
        let config = triangle["jiashan"].configFile
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "enabled: true", with: "enabled: false")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        try triangle.killAndRestart("jiashan")
        try await publisher.disconnect()
        publisher = try await triangle["jinshan"].connect("langxia-town", jurisdiction: "jinshan")
        let last = try await LinkedBrokers.publish(publisher, to: Self.destination, "patrol 3")
        try await eventually(timeout: .seconds(30), "Jiashan's direct link to take Jinshan's last record") {
            (try await triangle.lastTaken(by: "jiashan"))["jinshan"] ?? 0 >= last
        }
        try await publisher.disconnect()
        triangle.halt()
        let copies = try Self.storedCopies(triangle, offset: offset)
        #expect(copies.count == 1, "stored by the routes \(copies)")
    }

    /// Jiashan's policy refuses Jinshan's record, which reaches it directly and through Pinghu:
    /// refused (and counted in its audit) once, the other copy dropped.
    @Test func aRecordThePolicyRefusesIsRefusedOnceWhicheverRoutesItComesBy() async throws {
        let closed = """
            topics:
              - {destination: /topic/joint.closed, publish: [{jurisdiction: jiashan}], subscribe: all}
              - {destination: "/topic/**", publish: all, subscribe: all}
              - {destination: "/queue/**", publish: all, subscribe: all}
            """
        let triangle = try await BrokerTriangle.start(topics: ["jiashan": closed])
        defer { triangle.remove() }
        let publisher = try await triangle["jinshan"].connect("langxia-town", jurisdiction: "jinshan")
        let offset = try await LinkedBrokers.publish(publisher, to: "/topic/joint.closed", "not for Jiashan")
        try await publisher.disconnect()
        func decided() async throws -> (refused: Int, dropped: Int) {
            var refused = 0, dropped = 0
            for peer in ["jinshan", "pinghu"] {
                let status = try await Self.status(of: triangle, "jiashan", from: peer)
                refused += status["refused"] as? Int ?? 0
                dropped += status["duplicatesDropped"] as? Int ?? 0
            }
            return (refused, dropped)
        }
        try await eventually(timeout: .seconds(30), "both of Jiashan's links to decide about the record") {
            let now = try await decided()
            return now.refused + now.dropped >= 2
        }
        let final = try await decided()
        #expect(final.refused == 1 && final.dropped == 1, "refused \(final.refused) times, dropped \(final.dropped)")
        triangle.halt()
        let jinshan = try triangle.archive(of: "jinshan").logID
        let refusals = try triangle.archive(of: "jiashan").imported.filter { $0.origin == "\(jinshan)/\(offset)" }
        #expect(refusals.count == 1 && refusals.allSatisfy { $0.refusal != nil }, "\(refusals.map { "\($0.via): \($0.refusal ?? "stored")" })")
    }
}
