import CoreMetrics
import Foundation
import Logging
import Metrics
import MusterFederation
import MusterNet
import MusterServer
import MusterWeb
import Prometheus
import Synchronization

/// The broker's metrics in Prometheus's format: over loopback HTTP (`web.metrics-listen`), and over
/// HTTPS to monitors (`web.listen`).
enum MetricsSetup {
    /// Bootstraps swift-metrics with a Prometheus registry. Before the broker is made: its
    /// counters bind to the backend when first made.
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // fdatasync on a local disk: tens of µs to a few ms; a stall shows in the last buckets.
        factory.durationHistogramBuckets["muster_log_fdatasync_seconds"] = [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
                                                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)]
        MetricsSystem.bootstrap(factory)
        ServerMetrics.prepare()
        return registry
    }

    /// The endpoint: the registry, with the gauges read from the broker at each scrape.
    static func endpoint(registry: PrometheusCollectorRegistry, server: BrokerServer) -> MetricsEndpoint {
        let openConnections = Gauge(label: "muster_connections_open")
        let logNextOffset = Gauge(label: "muster_log_next_offset")
        let resident = Gauge(label: "muster_resident_memory_bytes")
        let summonsesOpen = Gauge(label: "muster_summonses_open")
        let summonsesOverdue = Gauge(label: "muster_summonses_overdue")
        let escalations = Counter(label: "muster_workflow_escalations_total")
        let appended = Counter(label: "muster_log_records_appended_total")
        let logBytes = Gauge(label: "muster_log_size_bytes")
        let reported = ReportedAtScrape()
        return MetricsEndpoint(registry: registry) { [weak server] in
            guard let server else { return }
            let snapshot = server.metricsSnapshot
            openConnections.record(snapshot.openConnections)
            logNextOffset.record(Double(snapshot.logNextOffset))
            if let bytes = residentBytes() { resident.record(bytes) }
            summonsesOpen.record(snapshot.summonsesOpen)
            summonsesOverdue.record(snapshot.summonsesOverdue)
            for link in snapshot.links { record(link) }
            // The book holds every escalation since the log began: the counter moves by what is new.
            escalations.increment(by: reported.increase(of: "escalations", to: snapshot.escalations))
            appended.increment(by: reported.increase(of: "appended", to: Int(snapshot.logRecordsAppended)))
            logBytes.record(snapshot.logBytes)
            reported.destinations(snapshot.destinations)
        }
    }

    /// What earlier scrapes reported (the loopback endpoint and the board may scrape at once).
    final class ReportedAtScrape: Sendable {
        private let state = Mutex<(totals: [String: Int], destinations: Set<String>)>(([:], []))

        /// How much a total read from the broker grew since the last scrape (what a counter moves by).
        func increase(of total: String, to count: Int) -> Int {
            state.withLock { state in
                let last = state.totals[total, default: 0]
                state.totals[total] = max(last, count)
                return max(0, count - last)
            }
        }

        /// Each destination's consumers, subscribers and unacknowledged deliveries; one that has
        /// none left reads 0.
        func destinations(_ loads: [BrokerServer.DestinationLoad]) {
            let current = Set(loads.map(\.destination))
            let gone = state.withLock { state in
                defer { state.destinations = current }
                return state.destinations.subtracting(current)
            }
            let names = ["muster_destination_consumers", "muster_destination_subscribers", "muster_destination_unacknowledged_deliveries"]
            for destination in gone {
                for name in names { Gauge(label: name, dimensions: [("destination", destination)]).record(0) }
            }
            for load in loads {
                let labels = [("destination", load.destination)]
                Gauge(label: names[0], dimensions: labels).record(load.consumers)
                Gauge(label: names[1], dimensions: labels).record(load.subscribers)
                Gauge(label: names[2], dimensions: labels).record(load.unacknowledged)
            }
        }
    }

    /// Starts serving `GET /metrics` at `address` on a loop of its own (a scrape never waits
    /// behind the broker's connections, nor they behind it).
    static func serve(at address: SocketAddress, endpoint: MetricsEndpoint, logger: Logger) throws -> (MetricsServer, EventLoopGroup) {
        let loops = try EventLoopGroup(count: 1, namePrefix: "muster-metrics")
        do {
            let metrics = try MetricsServer(address: address, loops: loops, endpoint: endpoint, logger: logger)
            logger.info("metrics served", metadata: ["address": "http://\(SocketAddress(host: address.host, port: metrics.boundPort))/metrics"])
            return (metrics, loops)
        } catch {
            loops.shutdown()
            throw error
        }
    }

    /// An import link's state and lag, labelled by peer and lane (made through the factory at
    /// each scrape: the registry keeps one of each).
    static func record(_ link: LinkStatus) {
        let labels = [("peer", link.peer), ("lane", link.lane.rawValue)]
        Gauge(label: "muster_federation_link_up", dimensions: labels).record(link.state == .connected ? 1 : 0)
        if let backlog = link.backlogRecords { Gauge(label: "muster_federation_link_backlog_records", dimensions: labels).record(Double(backlog)) }
        if let lag = link.lagSeconds { Gauge(label: "muster_federation_link_lag_seconds", dimensions: labels).record(lag) }
    }

    /// Resident set size from /proc/self/statm (pages × page size).
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
