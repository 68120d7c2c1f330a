/// When to hand freed heap memory back to the system. The C allocator keeps what a burst of
/// messages or a storm of connections freed (a broker that held 2,000 connections stays at
/// about 88 MB once they close), so the broker gives it back once it has been quiet for a whole
/// period after any activity: never while it works, and once per quiet spell.
struct HeapReturn {
    /// What changes whenever the broker does work: the log's end (messages, acknowledgements)
    /// and the count of connections opened and closed.
    struct Activity: Equatable {
        var logEnd: UInt64
        var connectionEvents: Int
    }

    private var lastSeen: Activity?
    /// Startup (recovery reads the log) counts as activity.
    private var owed = true

    /// Called once per period with the current activity; true when memory should be returned now.
    mutating func check(_ activity: Activity) -> Bool {
        defer { lastSeen = activity }
        guard activity == lastSeen else {
            owed = true
            return false
        }
        guard owed else { return false }
        owed = false
        return true
    }
}
