/// Which received message a link may acknowledge: with `ack: client` one ACK settles a message
/// and every earlier one, so the link acknowledges the newest message whose import, and every
/// earlier one's, is durable here. Imports finish in log order, duplicates at once; this keeps
/// an ACK from ever covering a message that is not yet safe.
public struct CumulativeAcks<Token: Sendable>: Sendable {
    /// Received messages from `pending[first]` on (ticket `head` onwards); the settled prefix
    /// before `first` is dropped in bulk, since removing one at a time from the front of a
    /// prefetch-sized array moved the whole window for every message.
    private var pending: [(ticket: UInt64, token: Token, done: Bool)] = []
    private var first = 0
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
        // Tickets are consecutive from `head`, so a ticket's place is its distance from it.
        guard ticket >= head, ticket < nextTicket else { return nil }
        let index = first + Int(ticket - head)
        pending[index].done = true
        var last: Token?
        while first < pending.count, pending[first].done {
            last = pending[first].token
            head = pending[first].ticket + 1
            first += 1
        }
        if first == pending.count || first >= 1024 {
            pending.removeFirst(first)
            first = 0
        }
        return last
    }

    /// Messages received and not yet safe.
    public var inFlight: Int { pending.count - first }

    /// Forgets everything (the connection they came on is gone).
    public mutating func reset() {
        pending.removeAll()
        first = 0
        head = nextTicket
    }
}
