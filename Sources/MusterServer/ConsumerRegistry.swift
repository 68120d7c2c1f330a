import Foundation
public import MusterBroker
import Synchronization

/// The durable consumers and queues in `DATA/consumers.json` (written to a temporary file,
/// synced, renamed, directory synced), each as it stood when the file was written: its floor
/// (nothing below is unsettled), `next` (the first offset not yet delivered) and its unsettled
/// deliveries. The log holds what happened to each delivery; start-up takes this file and reads
/// the log only from `scan-from` (the first message not yet routed when it was written), so a
/// queue with a million waiting messages costs no reading of them:
///
///     {"version": 2, "scan-from": 1290,
///      "consumers": [{"name": "durable:jinshan/langxia-town/inbox", "destination": "/topic/summons", "generation": 8127,
///                     "floor": 1204, "next": 1280, "party": "jinshan/langxia-town", "subscription": "inbox",
///                     "unsettled": [{"offset": 1204, "deliveries": 1, "party": "jinshan/langxia-town", "subscription": "inbox", "since": 1765000000000}]},
///                    {"name": "queue:/queue/work-orders", "destination": "/queue/work-orders", "generation": 0, "floor": 1200, "next": 1200, "unsettled": []}]}
///
/// A version 1 file (no `next`, no `unsettled`, `scan-from` the lowest floor) still reads: the
/// log is then read from that floor, as before.
public final class ConsumerRegistry: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var destination: String
        public var generation: UInt64
        public var floor: UInt64
        public var party: String?
        public var subscription: String?
        /// Version 2: the first offset not yet delivered, and the unsettled deliveries.
        public var next: UInt64?
        public var unsettled: [Unsettled]?
    }

    public struct Unsettled: Codable, Sendable, Equatable {
        public var offset: UInt64
        public var deliveries: Int
        public var party: String?
        public var subscription: String?
        public var since: Int64
    }

    public struct Contents: Codable, Sendable, Equatable {
        public var version = 2
        public var scanFrom: UInt64 = 0
        public var consumers: [Entry] = []

        enum CodingKeys: String, CodingKey {
            case version, consumers
            case scanFrom = "scan-from"
        }
    }

    public let path: String
    private let writing = Mutex(())

    public init(dataDirectory: String) {
        path = (dataDirectory as NSString).appendingPathComponent("consumers.json")
    }

    /// The saved registry; empty when there is none yet.
    public func load() throws(ConfigurationError) -> Contents {
        guard let data = FileManager.default.contents(atPath: path) else { return Contents() }
        do {
            let contents = try JSONDecoder().decode(Contents.self, from: data)
            guard contents.version == 1 || contents.version == 2 else {
                throw ConfigurationError(file: path, key: "version", problem: "version \(contents.version) is not one this broker reads (1 or 2)")
            }
            return contents
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: path, key: "",
                                     problem: "cannot be read (\(error)); restore it from a backup, or move it away to rebuild every queue from the log (durable subscriptions would then be lost)")
        }
    }

    /// The registry as of the broker's current state. `deadLetters`: deliveries the consumers let
    /// go of whose `dead-lettered` event is not recorded yet (unsettled on the record).
    public static func contents(of core: BrokerCore, deadLetters: [ConsumerName: [UnsettledDelivery]] = [:]) -> Contents {
        var contents = Contents()
        for (name, consumer) in core.consumers.sorted(by: { $0.key < $1.key }) where name.isDurable {
            let owner = core.owners[name]
            let pending = (consumer.unsettledDeliveries + (deadLetters[name] ?? [])).sorted { $0.offset < $1.offset }
            let unsettled = pending.map { delivery in
                Unsettled(offset: delivery.offset, deliveries: delivery.deliveryCount, party: delivery.party.map { $0.description },
                          subscription: delivery.subscriptionID, since: delivery.since)
            }
            contents.consumers.append(Entry(name: name.text, destination: consumer.destination.description, generation: consumer.generation,
                                            floor: min(consumer.floor, pending.first?.offset ?? .max), party: owner.map { $0.party.description }, subscription: owner?.subscriptionID,
                                            next: consumer.readCursor, unsettled: unsettled))
        }
        // Every delivery event before now is in the file (the checkpoint waits until they are
        // durable before writing it); messages from here on were not routed yet.
        contents.scanFrom = core.routedNext
        return contents
    }

    /// Writes the registry so that a crash leaves either the old file or the new one.
    public func save(_ contents: Contents) throws {
        try writing.withLock { _ in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(contents)
            try DurableFile.replace(path, with: data)
        }
    }
}
