/// When to hand freed heap memory back to the system. The C allocator keeps what a burst of
/// messages or a storm of connections freed (a broker that held 2,000 connections stays at
/// about 88 MB once they close), so the broker gives it back once it has been quiet for a whole
/// period after any activity, once per quiet spell; and, since a busy broker is never quiet,
/// also while it works whenever the allocator holds `busyThreshold` more freed memory than it
/// held after the last return.
struct HeapReturn {
    /// Freed memory held for reuse beyond which it is returned even while the broker works.
    static let busyThreshold = 64 << 20

    /// What changes whenever the broker does work: the log's end (messages, acknowledgements)
    /// and the count of connections opened and closed.
    struct Activity: Equatable {
        var logEnd: UInt64
        var connectionEvents: Int
    }

    private var lastSeen: Activity?
    /// Startup (recovery reads the log) counts as activity.
    private var owed = true

    /// Freed memory the allocator still held after the last return (what trimming could not give back).
    private var heldAfterReturn = 0

    /// Whether the last `check` that said to return found the broker quiet (then caches kept for
    /// traffic may go too), rather than busy with too much freed memory held.
    private(set) var returnsWhileQuiet = false

    /// Called once per period with the current activity and the freed memory the allocator
    /// holds; true when memory should be returned now.
    mutating func check(_ activity: Activity, heldFreeBytes: Int = 0) -> Bool {
        defer { lastSeen = activity }
        guard activity == lastSeen else {
            owed = true
            returnsWhileQuiet = false
            return heldFreeBytes >= heldAfterReturn + Self.busyThreshold
        }
        guard owed else { return false }
        owed = false
        returnsWhileQuiet = true
        return true
    }

    /// Notes what the allocator still holds after a return.
    mutating func returned(heldFreeBytesAfter: Int) {
        heldAfterReturn = heldFreeBytesAfter
    }
}
