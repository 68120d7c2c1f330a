import Foundation

/// How much work a load-heavy test does. The everyday run (`Tests/run`) uses a size that
/// still shows the property under test; MUSTER_SOAK=1 restores the long run's sizes; a
/// test's own variable (MUSTER_CRASH_CYCLES, MUSTER_REPLAY_RECORDS) sets one exactly.
public enum TestScale {
    /// Whether MUSTER_SOAK asks for the long run.
    public static var soak: Bool {
        guard let text = ProcessInfo.processInfo.environment["MUSTER_SOAK"] else { return false }
        return !["", "0", "false", "no"].contains(text.lowercased())
    }

    /// `variable` when set to a positive number, else `soak` under MUSTER_SOAK, else `everyday`.
    public static func count(_ variable: String, everyday: Int, soak soakCount: Int) -> Int {
        if let value = ProcessInfo.processInfo.environment[variable].flatMap({ Int($0) }), value > 0 { return value }
        return soak ? soakCount : everyday
    }
}
