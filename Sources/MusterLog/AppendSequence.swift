/// Appends that must not be stored past one of them that failed: once the writer fails one
/// (a full disk), it fails every later one of the sequence too, even if the log could take it
/// (a new segment under a file-size limit, space freed meanwhile). A federation link's imports
/// are one: where the link resumes is the last of them stored, so a record stored past a failed
/// one would hide the failed one for good.
public protocol AppendSequence: Sendable {
    /// Whether an append of the sequence failed.
    var isBroken: Bool { get }
    /// The writer failed an append of the sequence.
    func markBroken()
    /// Whether its appends go before the other queued ones (after earlier urgent ones): a
    /// federation link's urgent lane is not queued behind its bulk lane's backlog.
    var isUrgent: Bool { get }
}
