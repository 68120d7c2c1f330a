import MusterBroker
import MusterLog
import MusterProtocol

/// The publish ids a restarted broker must still answer for: those of the messages stored
/// within the window, read from the log (from the first record of the window, found by the
/// log's time index: start-up reads only the window, not the history).
enum PublishIDRecovery {
    static func read(_ log: MessageLog, settings: PublishIDSettings, now: Int64) throws(LogError) -> [RestoredPublishID] {
        var restored: [RestoredPublishID] = []
        let cursor = log.cursor(from: try log.firstOffset(atOrAfter: now - settings.window))
        while true {
            let records = try cursor.next(maxRecords: 1024, maxBytes: 4 << 20)
            if records.isEmpty { break }
            for record in records where record.kind == .message && record.header(PublishHeader.id) != nil {
                if let message = StoredMessage(record: record) { restored.append(RestoredPublishID(message)) }
            }
        }
        return restored
    }
}
