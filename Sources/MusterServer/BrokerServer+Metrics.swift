public import MusterFederation
import MusterBroker
import MusterWorkflow

extension BrokerServer {
    /// What the metrics endpoint reads at each scrape.
    public struct MetricsSnapshot: Sendable {
        public let openConnections: Int
        public let logNextOffset: UInt64
        /// Records this process appended to the log (messages, delivery records, workflow and audit records).
        public let logRecordsAppended: UInt64
        /// The log's segments on disk, in bytes.
        public let logBytes: Int
        /// Each import link's status (two per peer with an address: bulk and urgent).
        public let links: [LinkStatus]
        /// Summonses still open, and those of them whose deadline has passed (by the broker's clock).
        public let summonsesOpen: Int
        public let summonsesOverdue: Int
        /// Escalations the workflows recorded since the log began (summoned parties and hand-off legs).
        public let escalations: Int
        public let destinations: [DestinationLoad]
    }

    /// A destination's consumers (queues, durable and client-acknowledged subscriptions), the
    /// subscribers attached to them, and the deliveries they have not acknowledged.
    public struct DestinationLoad: Sendable {
        public let destination: String
        public let consumers: Int
        public let subscribers: Int
        public let unacknowledged: Int
    }

    public var metricsSnapshot: MetricsSnapshot {
        let workflows = queries.workflows.map { desk in
            let now = desk.now
            return desk.read { book, _ in
                let open = book.summonses.values.filter { $0.state == "open" }
                let escalations = book.summonses.values.reduce(0) { $0 + $1.parties.filter { $0.escalatedAt != nil }.count }
                    + book.handoffs.values.reduce(0) { $0 + $1.legs.filter { $0.escalatedAt != nil }.count }
                return (open: open.count, overdue: open.filter { $0.deadline < now }.count, escalations: escalations)
            }
        } ?? (open: 0, overdue: 0, escalations: 0)
        let destinations = broker.inspect { core in
            Dictionary(grouping: core.consumers.values, by: \.destination.description).map { destination, consumers in
                DestinationLoad(destination: destination, consumers: consumers.count, subscribers: consumers.reduce(0) { $0 + $1.subscriberCount },
                                unacknowledged: consumers.reduce(0) { $0 + $1.inFlightCount })
            }
        }
        let next = log.nextOffset
        return MetricsSnapshot(openConnections: sessions.withLock { $0.count }, logNextOffset: next,
                               logRecordsAppended: next - min(next, logOffsetAtStart), logBytes: log.totalBytes, links: links.statuses,
                               summonsesOpen: workflows.open, summonsesOverdue: workflows.overdue, escalations: workflows.escalations,
                               destinations: destinations.sorted { $0.destination < $1.destination })
    }
}
