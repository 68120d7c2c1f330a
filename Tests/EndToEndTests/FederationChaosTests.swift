import Foundation
import MusterClient
import MusterStomp
import MusterTestSupport
import Testing

/// Exactly once through chaos: two brokers linked both ways, a publisher with receipts on each
/// side (every fifth record urgent: a complaint, in the links' urgent lane), while the links are
/// cut, blackholed and flapped and either broker (or both) is SIGKILLed. Afterwards a check of
/// both logs, offline: every record exported each way was imported exactly once, in the
/// origin's order within its lane, and both logs verify.
/// MUSTER_FEDERATION_CYCLES sets the number of cycles (10 by default; MUSTER_SOAK=1: 200).
@Suite("federation links through cuts, blackholes, flaps and kills", .tags(.heavy))
struct FederationChaosTests {
    static let cycles = TestScale.count("MUSTER_FEDERATION_CYCLES", everyday: 10, soak: 200)

    /// Publishes with receipts to `/topic/joint.patrol`; reconnects (to wherever the broker now
    /// listens) when the broker was killed. Returns the offsets receipted.
    final class Publisher: @unchecked Sendable {
        let party: String
        let jurisdiction: String
        var connection: MusterConnection?
        var receipted: [UInt64] = []
        var lastUrgent: UInt64?
        var sent = 0
        let complaint: [UInt8]

        init(_ party: String, _ jurisdiction: String) throws {
            self.party = party
            self.jurisdiction = jurisdiction
            complaint = try LinkedBrokers.complaint()
        }

        /// Every fifth record is urgent, unless `bulkOnly`.
        func publish(_ count: Int, to broker: BrokerProcess, bulkOnly: Bool = false) async throws {
            for _ in 0..<count {
                sent += 1
                do {
                    if connection == nil { connection = try await broker.connect(party, jurisdiction: jurisdiction) }
                    if !bulkOnly, sent % 5 == 0 {
                        let receipt = try await connection!.send(StompFrame(.send, headers: ["destination": "/topic/joint.complaints", "muster-type": "complaint"],
                                                                            body: complaint), awaitingReceipt: true)
                        let offset = try #require(receipt["muster-offset"].flatMap { UInt64($0) })
                        receipted.append(offset)
                        lastUrgent = offset
                    } else {
                        receipted.append(try await LinkedBrokers.publish(connection!, to: "/topic/joint.patrol", "\(jurisdiction) patrol \(sent)"))
                    }
                } catch {
                    connection = nil  // the broker was killed mid-publish: that one may or may not be stored
                }
            }
        }
    }

    static func reconnects(_ broker: BrokerProcess) async throws -> Int {
        try await LinkedBrokers.status(of: broker)["reconnects"] as? Int ?? 0
    }

    @Test func everyRecordExportedEitherWayIsImportedOnceAndInOrder() async throws {
        let brokers = try await LinkedBrokers.start(heartbeat: "1s", jinshanPeer: ["urgent-types: [complaint]"], pinghuPeer: ["urgent-types: [complaint]"],
                                        jinshanTopics: LinkedBrokers.pinghuTopics)
        defer { brokers.remove() }
        let langxia = try Publisher("langxia-town", "jinshan"), guangchen = try Publisher("guangchen-town", "pinghu")
        for cycle in 1...Self.cycles {
            try await langxia.publish(5, to: brokers.jinshan)
            try await guangchen.publish(5, to: brokers.pinghu)
            switch cycle % 6 {
            case 0:
                try await brokers.proxy.cut()
                try await brokers.toPinghu.cut()
            case 1:
                // Silent: only the links' heart-beats notice; both links must drop before it passes again.
                let before = (try await Self.reconnects(brokers.pinghu), try await Self.reconnects(brokers.jinshan))
                brokers.proxy.blackhole()
                brokers.toPinghu.blackhole()
                try await langxia.publish(5, to: brokers.jinshan)
                try await guangchen.publish(5, to: brokers.pinghu)
                try await eventually("the heart-beats of both links to find them silent") {
                    let now = (try await Self.reconnects(brokers.pinghu), try await Self.reconnects(brokers.jinshan))
                    return now.0 > before.0 && now.1 > before.1
                }
                brokers.proxy.pass()
                brokers.toPinghu.pass()
            case 2:
                brokers.proxy.flap(every: .milliseconds(300))
                brokers.toPinghu.flap(every: .milliseconds(300))
                try await langxia.publish(10, to: brokers.jinshan)
                try await guangchen.publish(10, to: brokers.pinghu)
                brokers.proxy.pass()
                brokers.toPinghu.pass()
            case 3:
                brokers.pinghu.kill()
                guangchen.connection = nil
                try await langxia.publish(5, to: brokers.jinshan)
                try brokers.restartPinghu()
            case 4:
                brokers.jinshan.kill()
                langxia.connection = nil
                try await guangchen.publish(5, to: brokers.pinghu)
                try brokers.restartJinshan()
            default:
                brokers.jinshan.kill()
                brokers.pinghu.kill()
                langxia.connection = nil
                guangchen.connection = nil
                try brokers.restartJinshan()
                try brokers.restartPinghu()
            }
        }
        try await langxia.publish(1, to: brokers.jinshan, bulkOnly: true)
        try await guangchen.publish(1, to: brokers.pinghu, bulkOnly: true)
        try await LinkedBrokers.waitUntil(brokers.pinghu, took: try #require(langxia.receipted.last), timeout: .seconds(120))
        try await LinkedBrokers.waitUntil(brokers.jinshan, took: try #require(guangchen.receipted.last), timeout: .seconds(120))
        try await LinkedBrokers.waitUntil(brokers.pinghu, took: try #require(langxia.lastUrgent), lane: "urgent", timeout: .seconds(120))
        try await LinkedBrokers.waitUntil(brokers.jinshan, took: try #require(guangchen.lastUrgent), lane: "urgent", timeout: .seconds(120))
        brokers.halt()

        for (exporter, importer, from, to, publisher) in [(brokers.jinshan, brokers.pinghu, "jinshan", "pinghu", langxia),
                                                          (brokers.pinghu, brokers.jinshan, "pinghu", "jinshan", guangchen)] {
            let exported = try LinkedBrokers.exported(from: exporter, to: to)
            let taken = try LinkedBrokers.taken(in: importer, from: from)
            for lane in ["bulk", "urgent"] {
                let expected = exported.offsets.filter { exported.urgent.contains($0) == (lane == "urgent") }.map { "\(exported.logID)/\($0)" }
                let inLane = taken.filter { $0.lane == lane }.map(\.origin)
                #expect(inLane == expected, "\(from) → \(to), \(lane) lane: \(inLane.count) taken of \(expected.count) exported")
            }
            #expect(!exported.urgent.isEmpty, "\(from): no urgent record was exported")
            #expect(Set(taken.map(\.origin)).count == taken.count, "\(from) → \(to): a record imported twice")
            let receipted = Set(publisher.receipted)
            #expect(receipted.isSubset(of: Set(exported.offsets)), "\(from): a receipted record is missing from its own log")
            #expect(taken.allSatisfy { $0.refusal == nil }, "\(from) → \(to): \(taken.filter { $0.refusal != nil })")
            let verify = try await runMusterLogVerify(dataDirectory: importer.dataDirectory)
            #expect(verify.status == 0, "\(verify.output)")
        }
        #expect(langxia.receipted.count > 5 * Self.cycles && guangchen.receipted.count > 5 * Self.cycles)
    }
}
