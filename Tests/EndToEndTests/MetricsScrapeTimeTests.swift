import Foundation
import MusterTestSupport
import Testing

/// Gauges and counters derived at scrape time: a destination whose consumers are gone reads 0,
/// and a counter derived from the workflows' totals moves only when they do.
@Suite("metrics derived at scrape time")
struct MetricsScrapeTimeTests {
    @Test func aDestinationWhoseConsumersAreGoneReadsZero() async throws {
        try await withBroker(settings: "web:\n  metrics-listen: 127.0.0.1:0") { broker in
            let port = try await MetricsEndpointTests.metricsPort(of: broker)
            let client = try await broker.connect("langxia-town")
            _ = try await client.subscribe(to: "/topic/metrics.gone", ack: .clientIndividual)
            let label = "|destination=/topic/metrics.gone"
            var seen: [String: Double] = [:]
            try await eventually("the consumer shows", pollingEvery: .milliseconds(200)) {
                seen = try await MetricsEndpointTests.samples(port: port)
                return seen["muster_destination_subscribers\(label)"] == 1
            }
            #expect(seen["muster_destination_consumers\(label)"] == 1, "\(seen.filter { $0.key.contains("metrics.gone") })")
            try await client.disconnect()
            try await eventually("the gone consumer reads 0", pollingEvery: .milliseconds(200)) {
                let after = try await MetricsEndpointTests.samples(port: port)
                return after["muster_destination_consumers\(label)"] == 0 && after["muster_destination_subscribers\(label)"] == 0
            }
        }
    }

    @Test func theEscalationsCounterDoesNotMoveWithoutNewEscalations() async throws {
        let cast = try WorkflowCast.start(clock: .movedByHand(), settings: "web:\n  metrics-listen: 127.0.0.1:0")
        defer { cast.finish() }
        try await cast.whileReporting {
            let port = try await MetricsEndpointTests.metricsPort(of: cast.broker)
            _ = try await MetricsEndpointTests.samples(port: port)
            try await cast.run("langxia-town", ["summon", "--to", "jinshan-public-security,guangchen-town", "--title", "t", "--deadline", "30m"]).expectSuccess("summon")
            try await cast.broker.advanceClock(by: 31 * 60_000)
            try await eventually("two escalations", pollingEvery: .milliseconds(200)) {
                (try await MetricsEndpointTests.samples(port: port))["muster_workflow_escalations_total"] == 2
            }
            let again = try await MetricsEndpointTests.samples(port: port)
            #expect(again["muster_workflow_escalations_total"] == 2, "a scrape without new escalations moved the counter: \(again["muster_workflow_escalations_total"] ?? -1)")
        }
    }
}

extension MetricsScrapeTimeTests {
    @Test func recordsAppendedCountOnlyWhatThisProcessAppended() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-metrics-restart")
        let first = try await runBlocking { try BrokerProcess.start(in: directory, settings: "web:\n  metrics-listen: 127.0.0.1:0") }
        let party = try first.pki.client("langxia-town")
        for index in 1...3 {
            try await runMuster(["pub", "/topic/notices", "before the restart \(index)", "--server", "\(first.address)", "--cert", party.certificate,
                                 "--key", party.key, "--ca", first.pki.authorityBundle]).expectSuccess("publish")
        }
        _ = first.stop(removingDirectory: false)
        let broker = try await runBlocking { try first.restart() }
        defer { broker.stop() }
        let samples = try await MetricsEndpointTests.samples(port: try await MetricsEndpointTests.metricsPort(of: broker))
        let next = samples["muster_log_next_offset"] ?? 0
        #expect(next >= 4, "the log holds its identity and three notices: \(samples)")
        #expect((samples["muster_log_records_appended_total"] ?? .infinity) < next - 2, "the records from before the restart counted as appended: \(samples)")
    }
}

extension MetricsScrapeTimeTests {
    @Test func aRedeliveryToAnAutoAcknowledgingSubscriberCounts() async throws {
        try await withBroker(settings: "web:\n  metrics-listen: 127.0.0.1:0") { broker in
            let port = try await MetricsEndpointTests.metricsPort(of: broker)
            let files = try broker.pki.client("guangchen-town", jurisdiction: "pinghu")
            let queue = "/queue/metrics.auto"
            let run = try await PythonScript.run("metrics_auto_redelivery.py", [broker.address.host, String(broker.address.port), port,
                                                                                files.certificate, files.key, files.authority, queue])
            let result = try #require(PythonScript.jsonLines(run.output).last, "\(run.output)")
            #expect(result["redelivered"] as? Bool == true, "\(run.output)")
            let samples = result["samples"] as? [String: Double] ?? [:]
            #expect(samples["muster_redeliveries_total|destination=\(queue)"] == 1, "\(samples.filter { $0.key.contains(queue) })")
        }
    }
}
