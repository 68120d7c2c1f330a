/// The log identity record: written once in each log (the first record of a new log; for a log
/// that existed before identities, at its first start), so that an offset plus the log id names
/// one record anywhere — the origin key federation links use.
public enum LogIdentityHeader {
    /// Where the record is written (reserved: only the broker writes `muster.` destinations).
    public static let destination = Destination(kind: .topic, name: "muster.log.identity")
    /// A random id, 32 hex digits, chosen when the log got its identity.
    public static let logID = "muster-log-id"
    /// The jurisdiction whose broker keeps the log.
    public static let jurisdiction = "muster-log-jurisdiction"
    /// When the log got its identity (ms since 1970).
    public static let created = "muster-log-created"

    public static let all: Set<String> = [logID, jurisdiction, created]
}
