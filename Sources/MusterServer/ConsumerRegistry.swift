import Foundation
public import MusterBroker
import Synchronization

/// The durable consumers and queues, with how far each had settled, in `DATA/consumers.json`
/// (written to a temporary file, synced, renamed, directory synced). The log holds what
/// happened to each delivery; this file says which consumers exist and from which offset the
/// log must be read at start to rebuild them:
///
///     {"version": 1, "scan-from": 1200,
///      "consumers": [{"name": "durable:jinshan/langxia-town/inbox", "destination": "/topic/summons",
///                     "generation": 8127, "floor": 1204, "party": "jinshan/langxia-town", "subscription": "inbox"},
///                    {"name": "queue:/queue/work-orders", "destination": "/queue/work-orders", "generation": 0, "floor": 1200}]}
public final class ConsumerRegistry: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var destination: String
        public var generation: UInt64
        public var floor: UInt64
        public var party: String?
        public var subscription: String?
    }

    public struct Contents: Codable, Sendable, Equatable {
        public var version = 1
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
            guard contents.version == 1 else {
                throw ConfigurationError(file: path, key: "version", problem: "version \(contents.version) is not one this broker reads (1)")
            }
            return contents
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: path, key: "",
                                     problem: "cannot be read (\(error)); restore it from a backup, or move it away to rebuild every queue from the log (durable subscriptions would then be lost)")
        }
    }

    /// The registry as of the broker's current state.
    public static func contents(of core: BrokerCore) -> Contents {
        var contents = Contents()
        var scanFrom = core.routedNext
        for (name, consumer) in core.consumers.sorted(by: { $0.key < $1.key }) where name.isDurable {
            let owner = core.owners[name]
            let floor = consumer.floor
            scanFrom = min(scanFrom, floor)
            contents.consumers.append(Entry(name: name.text, destination: consumer.destination.description, generation: consumer.generation,
                                            floor: floor, party: owner.map { $0.party.description }, subscription: owner?.subscriptionID))
        }
        contents.scanFrom = scanFrom
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
