/// Signed checkpoints in a log (Schemas/log-format.md, "Signed checkpoints"): a broker records its
/// own at an interval, and stores those its federation peers send it, each a record on this
/// destination whose body is the checkpoint's JSON.
public enum CheckpointHeader {
    /// Where the records are written (reserved: only the broker writes `muster.` destinations).
    public static let destination = Destination(kind: .topic, name: "muster.checkpoints")
    /// Which log the checkpoint speaks for, and the head it signs (`OFFSET:HASH`).
    public static let logID = "muster-checkpoint-log-id"
    public static let head = "muster-checkpoint-head"

    public static let all: Set<String> = [logID, head]
}
