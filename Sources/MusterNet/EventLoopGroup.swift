import Glibc
import Synchronization

/// A small fixed set of event loops; connections are spread over them round-robin.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let nextIndex = Atomic<Int>(0)

    /// Creates and starts `count` loops (default: one per core, at least one).
    public init(count: Int = System.coreCount, namePrefix: String = "muster-loop") throws(SystemError) {
        var loops: [EventLoop] = []
        for index in 0..<max(1, count) {
            loops.append(try EventLoop(name: "\(namePrefix)-\(index)"))
        }
        self.loops = loops
        for loop in loops { loop.start() }
    }

    public func next() -> EventLoop {
        let index = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[index % loops.count]
    }

    public func shutdown() {
        for loop in loops { loop.stop() }
    }
}

public enum System {
    public static var coreCount: Int {
        let count = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return count > 0 ? count : 1
    }
}
