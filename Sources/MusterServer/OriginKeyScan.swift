import MusterFederation
import MusterLog
import MusterProtocol

extension SharedOriginKeys {
    /// The origin keys of every record this log imported from a peer, or whose import its policy
    /// refused (a refusal of the route a copy came by is not: another route's copy may be taken):
    /// read once, at start-up or when relaying starts, so that copies arriving by another route
    /// are dropped. Records stored while it reads are reported by their links.
    static func read(from log: MessageLog) throws(LogError) -> (keys: SharedOriginKeys, records: Int) {
        let keys = SharedOriginKeys()
        let cursor = log.cursor(from: log.firstOffset)
        var found = 0
        while true {
            let records = try cursor.next(maxRecords: 1024, maxBytes: 4 << 20)
            if records.isEmpty { break }
            for record in records where record.kind == .message && record.header(FederationHeader.via) != nil
                && record.header(FederationHeader.refusalScope) == nil {
                guard let origin = record.header(FederationHeader.origin).flatMap(FederationHeader.parseOrigin) else { continue }
                keys.stored(OriginKeys.Key(logID: origin.logID, offset: origin.offset))
                found += 1
            }
        }
        return (keys, found)
    }
}
