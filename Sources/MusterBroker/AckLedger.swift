/// How a subscription acknowledges (STOMP 1.2 `ack` header).
public enum AckMode: String, Sendable, CaseIterable {
    case auto
    /// An ACK settles the named delivery and every earlier one of the subscription.
    case client
    /// An ACK settles only the named delivery.
    case clientIndividual = "client-individual"
}

/// A delivery that is waiting for its ACK.
public struct PendingDelivery: Sendable {
    public let ackID: UInt64
    public let message: StoredMessage
    public let deliveryCount: Int
}

/// The unacknowledged deliveries of one subscription, in delivery order. Ack ids grow
/// monotonically, so the ledger stays sorted and lookups are binary searches.
struct AckLedger: Sendable {
    let mode: AckMode
    private var entries: [PendingDelivery?] = []
    private var head = 0
    private(set) var count = 0
    private var lastRecorded: UInt64 = 0

    init(mode: AckMode) { self.mode = mode }

    mutating func record(_ delivery: PendingDelivery) {
        precondition(delivery.ackID > lastRecorded, "ack ids must grow")
        lastRecorded = delivery.ackID
        entries.append(delivery)
        count += 1
    }

    /// Settles `ackID` (and, in `client` mode, everything before it). Nil when unknown.
    mutating func settle(_ ackID: UInt64) -> [PendingDelivery]? {
        guard let index = index(of: ackID) else { return nil }
        var settled: [PendingDelivery] = []
        if mode == .client {
            for position in head...index {
                if let entry = entries[position] { settled.append(entry) }
                entries[position] = nil
            }
        } else {
            settled.append(entries[index]!)
            entries[index] = nil
        }
        count -= settled.count
        compact()
        return settled
    }

    /// Removes and returns everything pending (the subscription ends).
    mutating func drain() -> [PendingDelivery] {
        let all = entries[head...].compactMap { $0 }
        entries = []
        head = 0
        count = 0
        return all
    }

    var oldest: PendingDelivery? { entries[head...].first { $0 != nil } ?? nil }

    private func index(of ackID: UInt64) -> Int? {
        var low = head
        var high = entries.count - 1
        while low <= high {
            let middle = (low + high) / 2
            // Settled slots keep their neighbours' order; probe the nearest live entry.
            guard let probe = nearestLive(from: middle, upTo: high) else {
                high = middle - 1
                continue
            }
            let (position, entry) = probe
            if entry.ackID == ackID { return position }
            if entry.ackID < ackID { low = position + 1 } else { high = middle - 1 }
        }
        return nil
    }

    private func nearestLive(from start: Int, upTo end: Int) -> (Int, PendingDelivery)? {
        var position = start
        while position <= end {
            if let entry = entries[position] { return (position, entry) }
            position += 1
        }
        return nil
    }

    private mutating func compact() {
        while head < entries.count, entries[head] == nil { head += 1 }
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
