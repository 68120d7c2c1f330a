import Foundation
import MusterBroker
import MusterProtocol

/// The newest stored messages, kept in memory (up to `byteLimit` of bodies) so that consumers
/// that keep up are fed without reading the log back and decoding it. Every message from
/// `floor` up to `coveredThrough` is here; a read from below `floor` goes to the log.
/// Messages are added in offset order, as their appends complete.
final class RecentMessages: @unchecked Sendable {
    private let lock = NSLock()
    /// Kept messages from `first` on; evicted ones before it are nil (their bodies freed at once)
    /// until the array is compacted, in batches.
    private var entries: [StoredMessage?] = []
    private var first = 0
    private var bytes = 0
    private var floor: UInt64
    private var coveredThrough: UInt64
    let byteLimit: Int

    /// Starts empty, covering nothing before `next` (the log's next offset).
    init(from next: UInt64, byteLimit: Int) {
        self.floor = next
        self.coveredThrough = next
        self.byteLimit = byteLimit
    }

    func add(_ message: StoredMessage) {
        lock.withLock {
            entries.append(message)
            bytes += Self.cost(of: message)
            coveredThrough = max(coveredThrough, message.offset + 1)
            while bytes > byteLimit, first < entries.count, let evicted = entries[first] {
                bytes -= Self.cost(of: evicted)
                floor = evicted.offset + 1
                entries[first] = nil
                first += 1
            }
            if first > 1024 && first * 2 > entries.count {
                entries.removeFirst(first)
                first = 0
            }
        }
    }

    /// Every record below `next` is durable and its message (if any) was added.
    func cover(through next: UInt64) {
        lock.withLock { coveredThrough = max(coveredThrough, next) }
    }

    /// Up to `limit` messages of `destination` from `offset` on, and the offset the next read
    /// starts at; nil when `offset` is older than what is kept.
    func read(_ destination: Destination, from offset: UInt64, limit: Int) -> (messages: [StoredMessage], scannedTo: UInt64)? {
        lock.withLock {
            guard offset >= floor else { return nil }
            var messages: [StoredMessage] = []
            var index = firstIndex(atOrAfter: offset)
            while index < entries.count, let message = entries[index] {
                index += 1
                guard message.destination == destination else { continue }
                messages.append(message)
                if messages.count == limit { return (messages, message.offset + 1) }
            }
            return (messages, max(offset, coveredThrough))
        }
    }

    /// The message at `offset`: `.some(nil)` when it is covered but not a message of the cache
    /// (a delivery record), nil when the log must be asked.
    func message(at offset: UInt64) -> StoredMessage?? {
        lock.withLock {
            guard offset >= floor, offset < coveredThrough else { return nil }
            let index = firstIndex(atOrAfter: offset)
            guard index < entries.count, let message = entries[index], message.offset == offset else { return .some(nil) }
            return .some(message)
        }
    }

    private func firstIndex(atOrAfter offset: UInt64) -> Int {
        var low = first, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle]!.offset < offset { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Forgets every kept message (the broker has gone quiet: its memory goes back to the system).
    /// Reads from before now go to the log; messages stored from now on are kept again.
    func release() {
        lock.withLock {
            entries = []
            first = 0
            bytes = 0
            floor = coveredThrough
        }
    }

    /// Bytes of the bodies this cache holds, evicted entries not yet compacted included.
    var heldBodyBytes: Int {
        lock.withLock { entries.reduce(0) { $0 + ($1?.publication.body.count ?? 0) } }
    }

    /// Its body, the entry, and the MESSAGE headers a delivery encodes and keeps with the
    /// message (`StoredMessage.sharedHeaders`: about as long as its own headers and the broker's).
    static func cost(of message: StoredMessage) -> Int {
        message.publication.body.count + message.publication.headers.reduce(256 + 160) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 }
    }
}
