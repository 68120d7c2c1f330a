import CLinuxSystem
import Foundation
import Glibc
import Synchronization

/// Something registered with an `EventLoop` for readiness events on one descriptor.
/// Every method is called on the loop's own thread.
public protocol EventHandler: AnyObject {
    func handleReadiness(readable: Bool, writable: Bool, hangup: Bool)
    /// Called about every `EventLoop.tickInterval` (heart-beats, handshake timeouts).
    func handleTick(now: ContinuousClock.Instant)
    /// Called once per loop iteration after events were handled, when the handler asked
    /// for it with `EventLoop.flushAtEndOfIteration` (coalesces many small writes).
    func handleEndOfIteration()
}

/// One thread running an epoll readiness loop. Handlers are confined to this thread;
/// other threads hand work over with `execute`, which wakes the loop through an eventfd.
public final class EventLoop: @unchecked Sendable {
    public static let tickInterval: Duration = .milliseconds(250)

    public let name: String
    private let epollDescriptor: Int32
    private let wakeDescriptor: Int32
    private var handlers: [Int32: any EventHandler] = [:]
    private var endOfIterationQueue: [any EventHandler] = []
    private let tasks = Mutex<(queue: [@Sendable () -> Void], wakePending: Bool)>(([], false))
    private let running = Atomic<Bool>(true)
    private let started = Atomic<Bool>(false)
    private let loopThreadID = Atomic<UInt>(0)
    private let finished = DispatchSemaphore(value: 0)
    private var lastTick = ContinuousClock.now
    /// Scratch space for reads, shared by every connection of this loop (loop thread only),
    /// so that idle connections cost no read buffer.
    public let readBuffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 64 * 1024)

    public init(name: String) throws(SystemError) {
        self.name = name
        epollDescriptor = try syscallValue("epoll_create1") { muster_epoll_create() }
        wakeDescriptor = try syscallValue("eventfd") { muster_eventfd() }
        try syscallValue("epoll_ctl") {
            muster_epoll_ctl(epollDescriptor, muster_EPOLL_CTL_ADD(), wakeDescriptor, muster_EPOLLIN())
        }
    }

    deinit {
        Glibc.close(epollDescriptor)
        Glibc.close(wakeDescriptor)
        readBuffer.deallocate()
    }

    /// Starts the loop on its own thread.
    public func start() {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// True when called from this loop's thread.
    public var inLoop: Bool { loopThreadID.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Runs `task` on the loop thread, soon; safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let fromLoop = inLoop
        let needsWake = tasks.withLock { state -> Bool in
            state.queue.append(task)
            // The loop looks at its queue before it sleeps again: its own thread need not wake it.
            if fromLoop || state.wakePending { return false }
            state.wakePending = true
            return true
        }
        if needsWake { wake() }
    }

    /// Stops the loop after the current iteration and waits for it, unless called from it.
    public func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        wake()
        if !inLoop && started.load(ordering: .relaxed) { finished.wait() }
    }

    public func register(_ descriptor: Int32, handler: any EventHandler, readable: Bool = true, writable: Bool = false) throws(SystemError) {
        precondition(inLoop, "register must run on the loop thread")
        handlers[descriptor] = handler
        try syscallValue("epoll_ctl(ADD)") {
            muster_epoll_ctl(epollDescriptor, muster_EPOLL_CTL_ADD(), descriptor, Self.mask(readable, writable))
        }
    }

    public func modify(_ descriptor: Int32, readable: Bool, writable: Bool) throws(SystemError) {
        try syscallValue("epoll_ctl(MOD)") {
            muster_epoll_ctl(epollDescriptor, muster_EPOLL_CTL_MOD(), descriptor, Self.mask(readable, writable))
        }
    }

    public func deregister(_ descriptor: Int32) {
        handlers[descriptor] = nil
        _ = muster_epoll_ctl(epollDescriptor, muster_EPOLL_CTL_DEL(), descriptor, 0)
    }

    /// Asks for one `handleEndOfIteration` call after the current batch of events.
    public func flushAtEndOfIteration(_ handler: any EventHandler) {
        endOfIterationQueue.append(handler)
    }

    private static func mask(_ readable: Bool, _ writable: Bool) -> UInt32 {
        var events = muster_EPOLLRDHUP()
        if readable { events |= muster_EPOLLIN() }
        if writable { events |= muster_EPOLLOUT() }
        return events
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeDescriptor, &one, 8)
    }

    private func run() {
        loopThreadID.store(UInt(pthread_self()), ordering: .relaxed)
        var events = [muster_ready_event](repeating: muster_ready_event(), count: 256)
        while running.load(ordering: .relaxed) {
            // Sleep only until the next tick is due, so ticks keep their period on a busy loop.
            let untilTick = Self.tickInterval - (ContinuousClock.now - lastTick)
            let tasksWaiting = tasks.withLock { !$0.queue.isEmpty }
            let timeout = tasksWaiting ? 0 : max(0, Int32(untilTick / .milliseconds(1)) + 1)
            let count = events.withUnsafeMutableBufferPointer {
                muster_epoll_wait(epollDescriptor, $0.baseAddress, Int32($0.count), timeout)
            }
            if count < 0 && errno != EINTR { fatalError("epoll_wait failed: \(SystemError(call: "epoll_wait", errno: errno))") }
            for index in 0..<max(0, Int(count)) {
                dispatch(events[index])
            }
            runTasks()
            drainEndOfIteration()
            tickIfDue()
        }
        loopThreadID.store(0, ordering: .relaxed)
        finished.signal()
    }

    private func dispatch(_ event: muster_ready_event) {
        if event.fd == wakeDescriptor {
            var value: UInt64 = 0
            _ = Glibc.read(wakeDescriptor, &value, 8)
            return
        }
        guard let handler = handlers[event.fd] else { return }
        let hangup = event.events & (muster_EPOLLHUP() | muster_EPOLLERR()) != 0
        handler.handleReadiness(
            readable: event.events & (muster_EPOLLIN() | muster_EPOLLRDHUP()) != 0 || hangup,
            writable: event.events & muster_EPOLLOUT() != 0,
            hangup: hangup)
    }

    private func runTasks() {
        let batch = tasks.withLock { state -> [@Sendable () -> Void] in
            state.wakePending = false
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        for task in batch { task() }
    }

    private func drainEndOfIteration() {
        while !endOfIterationQueue.isEmpty {
            let batch = endOfIterationQueue
            endOfIterationQueue.removeAll(keepingCapacity: true)
            for handler in batch { handler.handleEndOfIteration() }
        }
    }

    private func tickIfDue() {
        let now = ContinuousClock.now
        guard now - lastTick >= Self.tickInterval else { return }
        lastTick = now
        for handler in Array(handlers.values) { handler.handleTick(now: now) }
        drainEndOfIteration()
    }
}
