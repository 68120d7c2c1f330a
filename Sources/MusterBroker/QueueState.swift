/// A message waiting in a queue; `deliveryCount` says how often it was delivered before.
struct QueuedMessage: Sendable {
    let message: StoredMessage
    let deliveryCount: Int
}

/// One `/queue/` destination: its backlog and its competing consumers.
struct QueueState: Sendable {
    private var ready: [QueuedMessage] = []
    private var head = 0
    private(set) var consumers: [BrokerCore.SubscriptionKey] = []
    private var cursor = 0

    var readyCount: Int { ready.count - head }
    var isIdle: Bool { readyCount == 0 && consumers.isEmpty }

    mutating func addConsumer(_ key: BrokerCore.SubscriptionKey) { consumers.append(key) }

    mutating func enqueue(_ message: QueuedMessage) { ready.append(message) }

    mutating func requeueAtFront(_ messages: [QueuedMessage]) {
        guard !messages.isEmpty else { return }
        ready = messages + ready[head...]
        head = 0
    }

    mutating func dequeue() -> QueuedMessage? {
        guard head < ready.count else { return nil }
        let message = ready[head]
        head += 1
        if head == ready.count {
            ready.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096, head * 2 > ready.count {
            ready.removeFirst(head)
            head = 0
        }
        return message
    }

    mutating func removeConsumer(_ key: BrokerCore.SubscriptionKey) {
        guard let index = consumers.firstIndex(of: key) else { return }
        consumers.remove(at: index)
        if index < cursor { cursor -= 1 }
        if cursor >= consumers.count { cursor = 0 }
    }

    /// The next consumer in round-robin order that `isAvailable` accepts.
    mutating func nextConsumer(where isAvailable: (BrokerCore.SubscriptionKey) -> Bool) -> BrokerCore.SubscriptionKey? {
        guard !consumers.isEmpty else { return nil }
        for step in 0..<consumers.count {
            let index = (cursor + step) % consumers.count
            if isAvailable(consumers[index]) {
                cursor = (index + 1) % consumers.count
                return consumers[index]
            }
        }
        return nil
    }
}
