/// What a record holds. Codes are part of the on-disk format: never renumber one.
public enum RecordKind: UInt8, Sendable {
    /// A message accepted for a destination.
    case message = 1
    /// What happened to a delivery of a message (delivered, acked, nacked, expired, …); the
    /// record's destination is the message's, its headers name the consumer, party and offset.
    case delivery = 2
}

/// One header of a stored message, in the order the publisher sent it.
public struct LogHeader: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What a writer appends: everything but the position, time and chain, which the log assigns.
public struct LogEntry: Sendable {
    public var kind: RecordKind
    public var destination: String
    public var headers: [LogHeader]
    public var body: [UInt8]

    public init(kind: RecordKind = .message, destination: String, headers: [LogHeader], body: [UInt8]) {
        self.kind = kind
        self.destination = destination
        self.headers = headers
        self.body = body
    }
}

/// A record as read back from the log.
public struct LogRecord: Sendable {
    public let offset: UInt64
    /// Milliseconds since 1970, assigned by the broker; never decreases along the log.
    public let timestamp: Int64
    /// SHA-256(previous record's chain ‖ this record's content).
    public let chain: ChainHash
    public let entry: LogEntry
    /// Bytes the record occupies on disk.
    public let size: Int

    public var kind: RecordKind { entry.kind }
    public var destination: String { entry.destination }
    public var headers: [LogHeader] { entry.headers }
    public var body: [UInt8] { entry.body }

    /// The first header with this name.
    public func header(_ name: String) -> String? {
        entry.headers.first { $0.name == name }?.value
    }
}

/// What observers of a log hear after a batch of records is written.
public struct AppendedRecords: Sendable {
    /// The offset the next record will get.
    public let nextOffset: UInt64
    /// Whether the batch held messages (not only delivery records).
    public let containsMessages: Bool
}

/// What an append returns once the record is as durable as the fsync policy promises.
public struct AppendedRecord: Sendable {
    public let offset: UInt64
    public let timestamp: Int64
    public let chain: ChainHash
}

/// A point in the log an auditor can write down: the last record's offset and chain hash.
public struct LogHead: Equatable, Sendable, CustomStringConvertible {
    public let offset: UInt64
    public let chain: ChainHash

    public init(offset: UInt64, chain: ChainHash) {
        self.offset = offset
        self.chain = chain
    }

    /// Parses `OFFSET:HASH`, as `muster log verify` prints it.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let offset = UInt64(parts[0]), let chain = ChainHash(hex: String(parts[1])) else { return nil }
        self.init(offset: offset, chain: chain)
    }

    public var description: String { "\(offset):\(chain.hex)" }
}
