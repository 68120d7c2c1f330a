/// Which received message a link may acknowledge: with `ack: client` one ACK settles a message
/// and every earlier one, so the link acknowledges the newest message whose import, and every
/// earlier one's, is durable here. Imports finish in log order, duplicates at once; this keeps
/// an ACK from ever covering a message that is not yet safe.
public struct CumulativeAcks<Token: Sendable>: Sendable {
    private var pending: [(ticket: UInt64, token: Token, done: Bool)] = []
    private var nextTicket: UInt64 = 0
    private var head: UInt64 = 0

    public init() {}

    /// A message arrived; its ticket is passed to `done` once it is safe.
    public mutating func received(_ token: Token) -> UInt64 {
        defer { nextTicket += 1 }
        pending.append((nextTicket, token, false))
        return nextTicket
    }

    /// Marks a message safe; returns the message to acknowledge now, if the safe prefix grew.
    public mutating func done(_ ticket: UInt64) -> Token? {
        guard ticket >= head, let index = pending.firstIndex(where: { $0.ticket == ticket }) else { return nil }
        pending[index].done = true
        var last: Token?
        while let first = pending.first, first.done {
            last = first.token
            pending.removeFirst()
            head = first.ticket + 1
        }
        return last
    }

    /// Messages received and not yet safe.
    public var inFlight: Int { pending.count }

    /// Forgets everything (the connection they came on is gone).
    public mutating func reset() {
        pending.removeAll()
        head = nextTicket
    }
}
