public import MusterBroker
public import MusterLog
import MusterProtocol

/// Rebuilds the queues and durable subscriptions at start: the registry says which exist and
/// how each stood when it was written (a version 1 registry: how far each had settled); the
/// log, read from its `scan-from`, says what was delivered since and what became of it. Whatever was delivered and never settled waits to be delivered again, with
/// its delivery count; delivery of new messages resumes after the last one delivered.
public struct ConsumerRecovery {
    struct Builder {
        let name: ConsumerName
        let destination: Destination
        let generation: UInt64
        let floor: UInt64
        let owner: (party: PartyIdentity, subscriptionID: String)?
        var nextNew: UInt64
        var unsettled: [UInt64: UnsettledDelivery] = [:]
    }

    public private(set) var consumers: [RestoredConsumer] = []
    /// Records read to rebuild them.
    public private(set) var recordsRead = 0

    public init(registry: ConsumerRegistry.Contents, log: MessageLog, rules: DeliveryRules) throws(LogError) {
        var builders: [ConsumerName: Builder] = [:]
        for entry in registry.consumers {
            guard let destination = try? Destination(parsing: entry.destination) else { continue }
            let name = ConsumerName(text: entry.name)
            let owner = entry.party.flatMap { PartyIdentity(uri: PartyIdentity.uriScheme + $0) }.map { ($0, entry.subscription ?? "") }
            var builder = Builder(name: name, destination: destination, generation: entry.generation, floor: entry.floor,
                                  owner: owner, nextNew: entry.next ?? entry.floor)
            for delivery in entry.unsettled ?? [] {
                builder.unsettled[delivery.offset] = UnsettledDelivery(
                    offset: delivery.offset, deliveryCount: delivery.deliveries,
                    party: delivery.party.flatMap { PartyIdentity(uri: PartyIdentity.uriScheme + $0) },
                    subscriptionID: delivery.subscription, since: delivery.since)
            }
            builders[name] = builder
        }
        let cursor = log.cursor(from: registry.scanFrom)
        while true {
            let records = try cursor.next(maxRecords: 1024, maxBytes: 4 << 20)
            if records.isEmpty { break }
            recordsRead += records.count
            for record in records {
                switch record.kind {
                case .message:
                    // A queue first used after the registry was saved is found by its first message.
                    guard record.destination.hasPrefix("/queue/"), let destination = try? Destination(parsing: record.destination) else { continue }
                    let name = ConsumerName.queue(destination)
                    if builders[name] == nil {
                        builders[name] = Builder(name: name, destination: destination, generation: 0, floor: record.offset,
                                                 owner: nil, nextNew: record.offset)
                    }
                case .delivery:
                    for event in LedgerEvent.events(in: record) {
                        guard builders[event.consumer].map({ $0.generation == event.generation && event.offset >= $0.floor }) == true else { continue }
                        // In place: a copy of the builder kept alive would copy its unsettled events for every event.
                        if event.kind == .delivered || event.kind == .consumed {
                            builders[event.consumer]!.nextNew = max(builders[event.consumer]!.nextNew, event.offset + 1)
                        }
                        builders[event.consumer]!.unsettled[event.offset] = event.kind.isTerminal ? nil
                            : UnsettledDelivery(offset: event.offset, deliveryCount: event.deliveryCount, party: event.party,
                                                subscriptionID: event.subscriptionID, since: event.at)
                    }
                }
            }
        }
        for builder in builders.values.sorted(by: { $0.name < $1.name }) {
            var state = ConsumerState(name: builder.name, generation: builder.generation, destination: builder.destination,
                                      policy: rules.policy(for: builder.destination), readCursor: builder.nextNew)
            for (offset, delivery) in builder.unsettled {
                state.restoreWaiting(offset: offset, deliveryCount: delivery.deliveryCount, party: delivery.party,
                                     subscriptionID: delivery.subscriptionID, since: delivery.since)
            }
            consumers.append(RestoredConsumer(state: state, owner: builder.owner))
        }
    }
}
