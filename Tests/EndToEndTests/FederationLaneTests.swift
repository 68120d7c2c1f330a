import Foundation
import MusterClient
import MusterLog
import MusterStomp
import MusterTestSupport
import Testing

/// The urgent lane: what Jinshan marks urgent for Pinghu (`urgent-types`) reaches Pinghu on its
/// own connection, without waiting behind a backlog of bulk records, and both lanes still take
/// every record once. In the federation pass: Pinghu takes the backlog one record per round trip.
@Suite("a link's urgent lane", .serialized, .tags(.federation))
struct FederationLaneTests {
    @Test func anUrgentRecordOvertakesABacklogAndEveryRecordIsStillTakenOnce() async throws {
        // Pinghu takes one record per round trip, so the backlog drains slowly; complaints are
        // urgent (the default urgent types are workflow messages: summonses, report-ins).
        let brokers = try await LinkedBrokers.start(jinshanPeer: ["urgent-types: [complaint]"], pinghuPeer: ["prefetch: 1"],
                                        jinshanTopics: LinkedBrokers.pinghuTopics)
        let complaint = try LinkedBrokers.complaint()
        defer { brokers.remove() }
        let town = try await brokers.jinshan.connect("langxia-town")
        let backlog = 2_000
        for number in 1..<backlog {
            _ = try await town.send(StompFrame(.send, headers: ["destination": "/topic/joint.notices"], body: Array("notice \(number)".utf8)),
                                    awaitingReceipt: false)
        }
        let lastNotice = try await LinkedBrokers.publish(town, to: "/topic/joint.notices", "notice \(backlog)")
        let alert = try await town.send(StompFrame(.send, headers: ["destination": "/topic/joint.complaints", "muster-type": "complaint"],
                                                   body: complaint), awaitingReceipt: true)
        let alertOffset = try #require(alert["muster-offset"].flatMap { UInt64($0) })
        try await town.disconnect()

        try await eventually(timeout: .seconds(60), "Pinghu's urgent lane to take the alert") {
            (try? await LinkedBrokers.lastTaken(by: brokers.pinghu, lane: "urgent")) == alertOffset
        }
        let bulkThen = try await LinkedBrokers.lastTaken(by: brokers.pinghu) ?? 0
        #expect(bulkThen < lastNotice, "the alert waited for the whole backlog (the bulk lane was at \(bulkThen) of \(lastNotice))")
        try await brokers.waitUntilPinghuTook(lastNotice, timeout: .seconds(120))

        brokers.halt()
        var notices: [String] = []
        var alerts: [(offset: UInt64, lane: String?)] = []
        var lastNoticeHere: UInt64 = 0
        try LogArchive(dataDirectory: brokers.pinghu.dataDirectory).forEach { record in
            if record.destination == "/topic/joint.notices" {
                notices.append(String(decoding: record.body, as: UTF8.self))
                lastNoticeHere = record.offset
            }
            if record.destination == "/topic/joint.complaints" { alerts.append((record.offset, record.header("muster-link-lane"))) }
            return true
        }
        #expect(notices == (1...backlog).map { "notice \($0)" }, "\(notices.count) notices")
        #expect(alerts.count == 1 && alerts.first?.lane == "urgent", "\(alerts)")
        #expect(alerts.first.map { $0.offset < lastNoticeHere } == true, "stored at Pinghu before the backlog's end")
        let lanes = try LinkedBrokers.linkEvents(in: brokers.pinghu, peer: "jinshan").filter { $0["muster-link-event"] == "up" }.map { $0["muster-link-lane"] ?? "bulk" }
        #expect(Set(lanes) == ["bulk", "urgent"], "each lane came up on its own connection: \(lanes)")
    }
}
