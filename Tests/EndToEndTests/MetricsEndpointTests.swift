import Foundation
import MusterTestSupport
import Testing

/// `web.metrics-listen`: a real broker process serves `/metrics` in Prometheus's text format
/// on loopback; Python's own exposition parser reads it, and its counters move as stomp.py
/// publishes.
@Suite("the metrics endpoint")
struct MetricsEndpointTests {
    /// Where `broker` serves its metrics (it logs the port it bound).
    static func metricsPort(of broker: BrokerProcess) async throws -> String {
        var port = ""
        try await eventually("the broker logs where it serves metrics") {
            guard let found = broker.log.firstMatch(of: /address=http:\/\/127\.0\.0\.1:(\d+)\/metrics/) else { return false }
            port = String(found.1)
            return true
        }
        return port
    }

    static func samples(port: String) async throws -> [String: Double] {
        let run = try await PythonScript.run("metrics_read.py", [port])
        guard run.status == 0, let line = run.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let samples = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double] else {
            Issue.record("the scrape failed:\n\(run.output)")
            return [:]
        }
        return samples
    }

    @Test func openAndOverdueSummonsesAreCounted() async throws {
        let cast = try WorkflowCast.start(clock: .movedByHand(), settings: "web:\n  metrics-listen: 127.0.0.1:0")
        defer { cast.finish() }
        try await cast.whileReporting {
            let port = try await Self.metricsPort(of: cast.broker)
            let before = try await Self.samples(port: port)
            #expect(before["muster_summonses_open"] == 0 && before["muster_summonses_overdue"] == 0, "\(before)")
            #expect(before["muster_workflow_escalations_total"] == 0, "\(before)")
            try await cast.run("langxia-town", ["summon", "--to", "jinshan-public-security,guangchen-town", "--title", "Fallen tree on the levee road",
                                                "--deadline", "30m"]).expectSuccess("summon")
            let after = try await Self.samples(port: port)
            #expect(after["muster_summonses_open"] == 1 && after["muster_summonses_overdue"] == 0, "one open, its deadline ahead: \(after)")
            try await cast.broker.advanceClock(by: 31 * 60_000)
            try await eventually("the scrape shows the summons overdue and both parties escalated", pollingEvery: .milliseconds(200)) {
                let late = try await Self.samples(port: port)
                return late["muster_summonses_open"] == 1 && late["muster_summonses_overdue"] == 1 && late["muster_workflow_escalations_total"] == 2
            }
        }
    }

    @Test func consumersUnacknowledgedDeliveriesRedeliveriesAndDeadLettersAreCountedPerDestination() async throws {
        try await withBroker(settings: "web:\n  metrics-listen: 127.0.0.1:0") { broker in
            let port = try await Self.metricsPort(of: broker)
            let files = try broker.pki.client("guangchen-town", jurisdiction: "pinghu")
            let queue = "/queue/metrics.work"
            let run = try await PythonScript.run("metrics_deliveries.py", [broker.address.host, String(broker.address.port), port,
                                                                           files.certificate, files.key, files.authority, queue])
            let steps = PythonScript.jsonLines(run.output)
            func samples(_ step: String) -> [String: Double] {
                steps.first { $0["step"] as? String == step }?["samples"] as? [String: Double] ?? [:]
            }
            let done = steps.last { $0["step"] as? String == "done" }
            #expect(run.status == 0 && (done?["failures"] as? [String])?.isEmpty == true, "\(run.output)")
            let label = "|destination=\(queue)"
            let delivered = samples("delivered")
            #expect(delivered["muster_destination_consumers\(label)"] == 1 && delivered["muster_destination_subscribers\(label)"] == 1, "\(delivered)")
            #expect(delivered["muster_destination_unacknowledged_deliveries\(label)"] == 2, "\(delivered)")
            #expect(delivered["muster_redeliveries_total\(label)"] == nil && delivered["muster_dead_letters_total\(label)"] == nil, "\(delivered)")
            let redelivered = samples("redelivered")
            #expect(redelivered["muster_redeliveries_total\(label)"] == 1 && redelivered["muster_destination_unacknowledged_deliveries\(label)"] == 2,
                    "\(redelivered)")
            let settled = samples("settled")
            #expect(settled["muster_dead_letters_total\(label)"] == 1 && settled["muster_destination_unacknowledged_deliveries\(label)"] == 0, "\(settled.filter { $0.key.contains("destination") })")
        }
    }

    @Test(.tags(.federation)) func eachImportLinkShowsWhetherItIsUp() async throws {
        let brokers = try await LinkedBrokers.start(jinshanSettings: "web:\n  metrics-listen: 127.0.0.1:0")
        defer { brokers.remove() }
        let port = try await Self.metricsPort(of: brokers.jinshan)
        var samples: [String: Double] = [:]
        try await eventually("Jinshan's link from Pinghu shows as up", pollingEvery: .milliseconds(200)) {
            samples = try await Self.samples(port: port)
            return samples["muster_federation_link_up|lane=bulk|peer=pinghu"] == 1 && samples["muster_federation_link_up|lane=urgent|peer=pinghu"] == 1
        }
        // New connections go nowhere, then the open ones are reset: the link cannot come back up.
        brokers.toPinghu.blackhole()
        try await brokers.toPinghu.cut()
        try await eventually("the cut link shows as down", pollingEvery: .milliseconds(200)) {
            samples = try await Self.samples(port: port)
            return samples["muster_federation_link_up|lane=bulk|peer=pinghu"] == 0
        }
    }

    @Test func aScrapeParsesAndItsCountersMoveAsAClientPublishes() async throws {
        let topics = """
            topics:
              - {destination: "/topic/closed.**", publish: [], subscribe: all}
            """ + "\n" + BrokerProcess.openTopics.split(separator: "\n").dropFirst().joined(separator: "\n")
        try await withBroker(settings: "web:\n  metrics-listen: 127.0.0.1:0", topics: topics) { broker in
            let port = try await Self.metricsPort(of: broker)
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
            #expect(moved["muster_frames_sent_total|command=CONNECTED"] == 2 && moved["muster_frames_sent_total|command=ERROR"] == 1, "\(moved)")
            #expect((moved["muster_frames_sent_total|command=RECEIPT"] ?? 0) >= 5, "\(moved)")
            #expect((moved["muster_frames_received_total|command=CONNECT"] ?? 0) + (moved["muster_frames_received_total|command=STOMP"] ?? 0) == 2,
                    "two connections (stomp.py opens with STOMP): \(moved)")
            #expect((moved["muster_messages_stored_total"] ?? 0) >= 5, "\(moved)")
            #expect((moved["muster_log_fdatasync_seconds_count"] ?? 0) >= 1, "each receipt waited for an fdatasync: \(moved)")
            #expect(moved["muster_log_next_offset"].map { $0 >= 5 } == true, "\(moved)")
            // Appends count every record this process wrote (the five messages at least; the refusals' audit records may follow the scrape).
            #expect((moved["muster_log_records_appended_total"] ?? 0) >= 5, "\(moved)")
            #expect((moved["muster_log_size_bytes"] ?? 0) > 0, "the log grew: \(moved)")
            let before = try #require(result["before"] as? [String: Double])
            #expect((before["muster_resident_memory_bytes"] ?? 0) > 1_000_000, "\(before)")
            #expect((result["refused"] as? [String])?.isEmpty == false, "\(result)")
            #expect(moved["muster_refusals_total|code=not-authorized"] == 1, "the SEND refused by the policy: \(moved)")
            #expect(moved["muster_refusals_total|code=identity-refused"] == 1, "the handshake without a certificate: \(moved)")
            #expect(moved["muster_tls_handshake_failures_total|reason=no_certificate"] == 1, "\(moved)")
            #expect(moved["muster_connections_accepted_total"] == 3, "two STOMP connections and the refused handshake: \(moved)")
            #expect(result["not_found"] as? Int == 404 && result["post"] as? Int == 405, "\(result)")
        }
    }
}
