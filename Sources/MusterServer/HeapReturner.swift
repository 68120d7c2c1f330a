import CLinuxSystem
import Dispatch
import Foundation
import Logging
import Synchronization

/// Looks at the broker's activity once per quiet period, on a utility thread, and returns freed
/// heap pages to the system (`malloc_trim`) when `HeapReturn` says the broker has gone quiet.
final class HeapReturner: @unchecked Sendable {
    private let period: Duration
    private let logger: Logger
    private let activity: @Sendable () -> HeapReturn.Activity?
    /// Lets go of caches before the heap is returned once the broker is quiet (the newest
    /// messages kept for subscribers; not while it is busy, when they save reading the log).
    private let releaseCaches: @Sendable () -> Void
    private let timer: any DispatchSourceTimer
    private let decision = Mutex(HeapReturn())
    private let returns = Atomic<Int>(0)

    /// How many times memory was returned.
    var returnCount: Int { returns.load(ordering: .relaxed) }

    /// `activity` returns nil once there is nothing left to watch.
    init(period: Duration, logger: Logger, releaseCaches: @escaping @Sendable () -> Void = {},
         activity: @escaping @Sendable () -> HeapReturn.Activity?) {
        self.period = period
        self.logger = logger
        self.releaseCaches = releaseCaches
        self.activity = activity
        self.timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "muster-memory-return", qos: .utility))
    }

    func start() {
        let nanoseconds = Int(period / .nanoseconds(1))
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds), leeway: .nanoseconds(nanoseconds / 10))
        timer.setEventHandler { [self] in
            guard let now = activity() else { return }
            let (due, quiet) = decision.withLock { ($0.check(now, heldFreeBytes: Int(muster_free_heap_bytes())), $0.returnsWhileQuiet) }
            guard due else { return }
            let before = Self.residentBytes()
            if quiet { releaseCaches() }
            _ = muster_return_free_heap()
            returns.add(1, ordering: .relaxed)
            decision.withLock { $0.returned(heldFreeBytesAfter: Int(muster_free_heap_bytes())) }
            let after = Self.residentBytes()
            logger.info("returned freed memory to the system", metadata: [
                "resident-mb-before": "\(Self.megabytes(before))", "resident-mb-after": "\(Self.megabytes(after))",
            ])
        }
        timer.resume()
    }

    func stop() { timer.cancel() }

    /// The process's resident set (the second field of /proc/self/statm, in pages).
    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f", Double(bytes) / 1_048_576)
    }
}
