import MusterBroker
import MusterLog
import MusterProtocol

/// The publish ids a restarted broker must still answer for: those of the messages published
/// within the window, read from the log (from the first record of the window, found by the
/// log's time index: start-up reads only the window, not the history).
enum PublishIDRecovery {
    /// `now` is the broker's clock; the log stamps records with its own clock (the same in
    /// production, not under a test or demo clock), so each id's age is measured on the log's
    /// clock and carried over to the broker's.
    static func read(_ log: MessageLog, settings: PublishIDSettings, now: Int64) throws(LogError) -> [RestoredPublishID] {
        var restored: [RestoredPublishID] = []
        let logNow = log.options.clock()
        let cursor = log.cursor(from: try log.firstOffset(atOrAfter: logNow - settings.window))
        while true {
            let records = try cursor.next(maxRecords: 1024, maxBytes: 4 << 20)
            if records.isEmpty { break }
            // A dead letter is a copy (with the original's headers), not the publication.
            for record in records where record.kind == .message && record.header(PublishHeader.id) != nil
                && record.header(ReservedHeader.deadLetterFrom) == nil {
                guard let message = StoredMessage(record: record) else { continue }
                restored.append(RestoredPublishID(message, storedAt: now - (logNow - message.timestamp)))
            }
        }
        return restored
    }
}
