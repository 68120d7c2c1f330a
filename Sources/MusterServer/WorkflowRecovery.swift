import MusterBroker
public import MusterLog
import MusterProtocol
public import MusterWorkflow

/// Rebuilds the workflow state from log records: every workflow message and refusal record,
/// every delivery event on an inbox. The broker does it at start (and after a failed
/// append); `muster summons|handoff|report --data DIR` does it from a copy of the data
/// directory, which is how an auditor recomputes the assessment.
public struct WorkflowRecovery: Codable, Sendable {
    public private(set) var book = WorkflowBook()
    public private(set) var deliveries = InboxDeliveries()
    public private(set) var recordsRead = 0
    private static let audit = RefusalRecord.destination.description

    public init() {}

    public mutating func take(_ record: LogRecord) {
        recordsRead += 1
        switch record.kind {
        case .message:
            // Cheap test first: most records are neither workflow messages nor refusals.
            // An imported workflow message is run here only if the workflows took it live (they
            // mark it with when it arrived: a case both brokers follow); any other was decided by
            // its origin broker alone.
            guard record.destination == Self.audit || record.headers.contains(where: { $0.name == WorkflowHeader.time }),
                  record.header(FederationHeader.via) == nil || record.header(WorkflowHeader.receivedAt) != nil,
                  let message = StoredMessage(record: record) else { return }
            book.replay(message.publication)
            deliveries.noteStored(message)
        case .delivery:
            guard record.destination.hasPrefix("/queue/inbox.") else { return }
            deliveries.note(LedgerEvent.events(in: record))
        }
    }

    /// From the open log of a running broker. `alsoVisit` sees every record of the scan too
    /// (start-up reads the log once for everything that is rebuilt from it).
    public static func read(_ log: MessageLog, alsoVisit: (LogRecord) -> Void = { _ in }) throws(LogError) -> WorkflowRecovery {
        var recovery = WorkflowRecovery()
        _ = try recovery.read(log, from: log.firstOffset, alsoVisit: alsoVisit)
        return recovery
    }

    /// Takes the log's records from `offset` to its end (or until `deadline`): the offset after
    /// the last record taken, and whether retention had deleted records from `offset` on before
    /// they were read (then this state lacks them).
    public mutating func read(_ log: MessageLog, from offset: UInt64, until deadline: ContinuousClock.Instant? = nil,
                              alsoVisit: (LogRecord) -> Void = { _ in }) throws(LogError) -> (next: UInt64, skippedPruned: Bool) {
        let cursor = log.cursor(from: offset)
        while deadline.map({ ContinuousClock.now < $0 }) ?? true {
            let records = try cursor.next(maxRecords: 1024, maxBytes: 4 << 20)
            if records.isEmpty { break }
            for record in records {
                take(record)
                alsoVisit(record)
            }
        }
        return (max(cursor.nextOffset, offset), cursor.skippedPrunedRecords)
    }

    /// From a data directory (offline).
    public static func read(dataDirectory: String) throws(LogError) -> WorkflowRecovery {
        var recovery = WorkflowRecovery()
        try LogArchive(dataDirectory: dataDirectory).forEach { record in
            recovery.take(record)
            return true
        }
        return recovery
    }
}
