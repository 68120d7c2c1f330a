import Foundation
import MusterTestSupport
import Testing

/// `web.metrics-listen`: a real broker process serves `/metrics` in Prometheus's text format
/// on loopback; Python's own exposition parser reads it, and its counters move as stomp.py
/// publishes.
@Suite("the metrics endpoint")
struct MetricsEndpointTests {
    @Test func aScrapeParsesAndItsCountersMoveAsAClientPublishes() async throws {
        let topics = """
            topics:
              - {destination: "/topic/closed.**", publish: [], subscribe: all}
            """ + "\n" + BrokerProcess.openTopics.split(separator: "\n").dropFirst().joined(separator: "\n")
        try await withBroker(settings: "web:\n  metrics-listen: 127.0.0.1:0", topics: topics) { broker in
            var port = ""
            try await eventually("the broker logs where it serves metrics") {
                guard let found = broker.log.firstMatch(of: /address=http:\/\/127\.0\.0\.1:(\d+)\/metrics/) else { return false }
                port = String(found.1)
                return true
            }
            let files = try broker.pki.client("guangchen-town", jurisdiction: "pinghu")
            let run = try await PythonScript.run("metrics_scrape.py", [broker.address.host, String(broker.address.port), port,
                                                                       files.certificate, files.key, files.authority, "5", "/topic/closed.x"])
            #expect(run.status == 0, "the scrape failed:\n\(run.output)")
            let line = try #require(run.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "no JSON line:\n\(run.output)")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let moved = try #require(result["moved"] as? [String: Double])
            #expect(result["receipts"] as? Int == 5, "\(result)")
            #expect(result["content_type"] as? String == "text/plain; version=0.0.4; charset=utf-8")
            #expect(moved["muster_frames_received_total|command=SEND"] == 6, "five stored and one refused: \(moved)")
            #expect((moved["muster_frames_received_total|command=CONNECT"] ?? 0) + (moved["muster_frames_received_total|command=STOMP"] ?? 0) == 2,
                    "two connections (stomp.py opens with STOMP): \(moved)")
            #expect((moved["muster_messages_stored_total"] ?? 0) >= 5, "\(moved)")
            #expect(moved["muster_connections_accepted_total"] == 2, "\(moved)")
            #expect((moved["muster_log_fdatasync_seconds_count"] ?? 0) >= 1, "each receipt waited for an fdatasync: \(moved)")
            #expect(moved["muster_log_next_offset"].map { $0 >= 5 } == true, "\(moved)")
            let before = try #require(result["before"] as? [String: Double])
            #expect((before["muster_resident_memory_bytes"] ?? 0) > 1_000_000, "\(before)")
            #expect((result["refused"] as? [String])?.isEmpty == false, "\(result)")
            let refusals = moved.filter { $0.key.hasPrefix("muster_refusals_total|code=") && $0.value > 0 }
            #expect(refusals.count == 1 && refusals.first?.value == 1, "one refusal, counted by its code: \(moved)")
            #expect(result["not_found"] as? Int == 404 && result["post"] as? Int == 405, "\(result)")
        }
    }
}
