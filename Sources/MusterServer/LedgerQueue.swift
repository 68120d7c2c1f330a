import MusterBroker
import MusterProtocol

/// When delivery events are written. While a batch is being written, events queue; once it is
/// written, everything queued goes as the next batch. An event on an idle broker is written at
/// once, alone; under load a batch gathers a whole write cycle's events, which
/// `LogEntry.ledgerRecords` packs into one record per subscription. Events someone waits for (an
/// ACK's receipt, `LogMessageStore.waitUntilDurable`) are not held back: they go at once, behind
/// the batches already handed to the log, which keeps them in order.
struct LedgerQueue {
    typealias Completion = @Sendable (BrokerError?) -> Void

    struct Batch {
        let events: [LedgerEvent]
        /// Someone waits for these events: the batch must be durable.
        let needsSync: Bool
    }

    enum Step {
        /// Hand this batch to the log now.
        case write(Batch)
        /// Queued behind the batches being written.
        case queued
        /// Nothing was queued or being written: the completion may run now.
        case completeNow
    }

    private var queued: [LedgerEvent] = []
    private var queuedCompletions: [Completion] = []
    /// The completions of each batch handed to the log and not yet written, oldest first.
    private var writing: [[Completion]] = []

    var isIdle: Bool { writing.isEmpty && queued.isEmpty }

    /// Events to record; `completion` runs once they are durable (or with why not). Without
    /// events, it runs once everything recorded before it is written.
    mutating func add(_ events: [LedgerEvent], completion: Completion?) -> Step {
        queued += events
        guard let completion else {
            return writing.isEmpty && !queued.isEmpty ? .write(take()) : .queued
        }
        if queued.isEmpty {
            guard !writing.isEmpty else { return .completeNow }
            writing[writing.count - 1].append(completion)
            return .queued
        }
        queuedCompletions.append(completion)
        return .write(take())
    }

    /// The oldest batch handed to the log is written (or failed): its completions, and the
    /// next batch to write if events queued meanwhile and none is being written.
    mutating func written() -> (completions: [Completion], next: Batch?) {
        let done = writing.isEmpty ? [] : writing.removeFirst()
        return (done, writing.isEmpty && !queued.isEmpty ? take() : nil)
    }

    private mutating func take() -> Batch {
        let batch = Batch(events: queued, needsSync: !queuedCompletions.isEmpty)
        writing.append(queuedCompletions)
        queued = []
        queuedCompletions = []
        return batch
    }
}
