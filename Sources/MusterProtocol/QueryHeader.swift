/// Headers of queries (a SEND to `/queue/muster.query`, Schemas/protocol.md, "Acknowledgement
/// queries" and "Workflow queries").
public enum QueryHeader {
    /// What is asked: an `AckQuery.Kind` value.
    public static let kind = "muster-query"
    public static let destination = "muster-destination"
    public static let party = "muster-party"
    public static let offset = "muster-offset"
    /// The summons, hand-off or operation id.
    public static let caseID = "muster-case"
    /// Start and end of an assessment period (ms since 1970).
    public static let from = "muster-from"
    public static let to = "muster-to"
    public static let jurisdiction = "muster-jurisdiction"
    /// `true`: open cases only.
    public static let openOnly = "muster-open"
}
