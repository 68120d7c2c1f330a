public import MusterProtocol

/// A connection's open transactions: the SEND, ACK and NACK frames each holds until COMMIT or
/// ABORT, within the limits that keep one connection from buffering without bound.
struct OpenTransactions {
    struct Limits {
        var frames: Int
        var bytesPerTransaction: Int
        var bytesPerConnection: Int
        var open: Int
    }

    private let limits: Limits
    private var actions: [String: [SessionAction]] = [:]
    private var bytes: [String: Int] = [:]
    private var totalBytes = 0

    init(limits: Limits) {
        self.limits = limits
    }

    mutating func begin(_ id: String) throws(BrokerError) {
        guard actions[id] == nil else { throw BrokerError(.duplicateTransaction, "transaction '\(id)' is already open") }
        guard actions.count < limits.open else {
            throw BrokerError(.limitExceeded, "this connection already has \(limits.open) open transactions (limits.max-open-transactions); commit or abort one first")
        }
        actions[id] = []
        bytes[id] = 0
    }

    /// Buffers `action` (of `size` bytes: its frame's headers and body) in transaction `id`.
    mutating func add(_ action: SessionAction, size: Int, to id: String, command: String) throws(BrokerError) {
        guard let buffered = actions[id], let held = bytes[id] else {
            throw BrokerError(.unknownTransaction, "\(command) names transaction '\(id)', which is not open")
        }
        guard buffered.count < limits.frames else {
            throw BrokerError(.limitExceeded, "transaction '\(id)' exceeds \(limits.frames) frames (limits.max-transaction-frames)")
        }
        guard held + size <= limits.bytesPerTransaction else {
            throw BrokerError(.limitExceeded, "transaction '\(id)' would hold \(held + size) bytes, over limits.max-transaction-bytes (\(limits.bytesPerTransaction)); commit smaller transactions")
        }
        guard totalBytes + size <= limits.bytesPerConnection else {
            throw BrokerError(.limitExceeded, "this connection's open transactions would hold \(totalBytes + size) bytes, over limits.max-transaction-bytes-per-connection (\(limits.bytesPerConnection)); commit or abort first")
        }
        actions[id] = buffered + [action]
        bytes[id] = held + size
        totalBytes += size
    }

    /// Ends transaction `id`, returning what it held (nil if it is not open).
    mutating func end(_ id: String) -> [SessionAction]? {
        guard let ended = actions.removeValue(forKey: id) else { return nil }
        totalBytes -= bytes.removeValue(forKey: id) ?? 0
        return ended
    }
}
