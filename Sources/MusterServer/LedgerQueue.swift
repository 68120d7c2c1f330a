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
        /// Names the batch when the log reports it written (`written(_:failure:)`).
        let id: UInt64
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

    /// A batch handed to the log: its completions, and once written, how it went.
    private struct Handed {
        let id: UInt64
        var completions: [Completion]
        var outcome: BrokerError??
    }

    private var queued: [LedgerEvent] = []
    private var queuedCompletions: [Completion] = []
    /// Batches handed to the log, oldest first; each leaves once it and every one before it is written.
    private var writing: [Handed] = []
    private var nextID: UInt64 = 0

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
            writing[writing.count - 1].completions.append(completion)
            return .queued
        }
        queuedCompletions.append(completion)
        return .write(take())
    }

    /// The log wrote batch `id` (or failed to): the completions due now, each with its batch's
    /// outcome, in the order the batches were handed over, and the next batch to write if events
    /// queued meanwhile and none is being written.
    mutating func written(_ id: UInt64, failure: BrokerError?) -> (completions: [(Completion, BrokerError?)], next: Batch?) {
        if let index = writing.firstIndex(where: { $0.id == id }) { writing[index].outcome = .some(failure) }
        var due: [(Completion, BrokerError?)] = []
        while let first = writing.first, case .some(let outcome) = first.outcome {
            due += first.completions.map { ($0, outcome) }
            writing.removeFirst()
        }
        return (due, writing.isEmpty && !queued.isEmpty ? take() : nil)
    }

    private mutating func take() -> Batch {
        defer { nextID += 1 }
        let batch = Batch(id: nextID, events: queued, needsSync: !queuedCompletions.isEmpty)
        writing.append(Handed(id: nextID, completions: queuedCompletions, outcome: nil))
        queued = []
        queuedCompletions = []
        return batch
    }
}
