import CLinuxSystem
import Foundation
import Glibc
import MusterLocks
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

/// One thread running an epoll readiness loop. Handlers are confined to the loop: its own
/// thread, or for a moment another loop's (below). Other threads hand work over with
/// `execute`, which wakes the loop through an eventfd.
///
/// Waking a sleeping loop costs tens of µs on a virtual machine (about 55 µs of a message's
/// 90 µs hand-over to a subscriber on the other loop here). So when a lightly loaded loop hands
/// a little work to a loop that is asleep, it runs that work itself at the end of its iteration,
/// holding the sleeping loop's `ownership` (which the loop holds whenever it is not waiting in
/// epoll). A busy loop, or one handing over more, wakes the other loop, so both cores share the load.
public final class EventLoop: @unchecked Sendable {
    public static let tickInterval: Duration = .milliseconds(250)

    public let name: String
    private let epollDescriptor: Int32
    private let wakeDescriptor: Int32
    private var handlers: [Int32: any EventHandler] = [:]
    private var endOfIterationQueue: [any EventHandler] = []
    /// Lock order: a leaf (MusterServer/LockOrder.swift).
    private let tasks = Mutex<(queue: [@Sendable () -> Void], wakePending: Bool)>(([], false))
    private let running = Atomic<Bool>(true)
    private let started = Atomic<Bool>(false)
    /// The thread acting as this loop: its own while it works, a helping loop's while that one
    /// runs its tasks, 0 while it sleeps.
    private let loopThreadID = Atomic<UInt>(0)
    /// Lock order: first of all (MusterServer/LockOrder.swift).
    private let ownership = AdaptiveMutex()
    /// Loops this loop's thread queued tasks for in this iteration without waking them (its thread only).
    private var loopsToHelp: [EventLoop] = []
    /// Whether this iteration began after a real sleep in epoll, not with tasks already waiting
    /// (its thread only): only then is the loop idle enough to do a sleeping loop's work.
    private var lightlyLoaded = false
    /// A sleep in epoll at least this long before an iteration marks the loop lightly loaded.
    static let lightLoadSleep = Duration.microseconds(100)
    private let helpedRuns = Atomic<Int>(0)
    /// How many times another loop's thread ran this loop's tasks while it slept (tests).
    var helpedRunCount: Int { helpedRuns.load(ordering: .relaxed) }
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

    /// Runs `task` on the loop, soon; safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let fromLoop = inLoop
        let needsWake = tasks.withLock { state -> Bool in
            state.queue.append(task)
            // The loop looks at its queue before it sleeps again: its own thread need not wake it.
            if fromLoop || state.wakePending { return false }
            state.wakePending = true
            return true
        }
        guard needsWake else { return }
        // Another loop's thread decides at the end of its iteration (where it holds no lock a
        // task could need) whether to run the task itself or to wake this loop.
        if let current = EventLoop.current, current !== self {
            if !current.loopsToHelp.contains(where: { $0 === self }) { current.loopsToHelp.append(self) }
        } else {
            wake()
        }
    }

    /// The loop whose thread is calling (nil on other threads).
    private static var current: EventLoop? {
        muster_current_loop().map { Unmanaged<EventLoop>.fromOpaque($0).takeUnretainedValue() }
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
        muster_set_current_loop(Unmanaged.passUnretained(self).toOpaque())
        let thread = UInt(pthread_self())
        ownership.lock()
        loopThreadID.store(thread, ordering: .relaxed)
        var events = [muster_ready_event](repeating: muster_ready_event(), count: 256)
        while running.load(ordering: .relaxed) {
            // Sleep only until the next tick is due, so ticks keep their period on a busy loop.
            let untilTick = Self.tickInterval - (ContinuousClock.now - lastTick)
            let tasksWaiting = tasks.withLock { !$0.queue.isEmpty }
            let timeout = tasksWaiting ? 0 : max(0, Int32(untilTick / .milliseconds(1)) + 1)
            loopThreadID.store(0, ordering: .relaxed)
            ownership.unlock()
            let sleepStarted = ContinuousClock.now
            let count = events.withUnsafeMutableBufferPointer {
                muster_epoll_wait(epollDescriptor, $0.baseAddress, Int32($0.count), timeout)
            }
            if count < 0 && errno != EINTR { fatalError("epoll_wait failed: \(SystemError(call: "epoll_wait", errno: errno))") }
            lightlyLoaded = timeout > 0 && ContinuousClock.now - sleepStarted >= Self.lightLoadSleep
            ownership.lock()
            loopThreadID.store(thread, ordering: .relaxed)
            for index in 0..<max(0, Int(count)) {
                dispatch(events[index])
            }
            runTasks()
            drainEndOfIteration()
            tickIfDue()
            finishIteration()
        }
        finishIteration()
        loopThreadID.store(0, ordering: .relaxed)
        muster_set_current_loop(nil)
        // Helpers look at `running` once they hold the ownership: they leave a stopped loop alone.
        ownership.unlock()
        finished.signal()
    }

    /// Hands over what this iteration (its tick included) queued for other loops, and sends
    /// what helped tasks wrote to this loop's own connections, until neither is left.
    private func finishIteration() {
        while !loopsToHelp.isEmpty || !endOfIterationQueue.isEmpty {
            helpOtherLoops()
            drainEndOfIteration()
        }
    }

    /// Runs the tasks this iteration queued for sleeping loops, when this loop is lightly
    /// loaded; wakes the loops it leaves them to.
    private func helpOtherLoops() {
        while !loopsToHelp.isEmpty {
            let other = loopsToHelp.removeFirst()
            if !(lightlyLoaded && other.runTasksWhileAsleep()) { other.wake() }
        }
    }

    /// Tasks up to which a lightly loaded loop runs a sleeping loop's queue itself: one hand-over
    /// (a message for one subscriber) is quicker done than woken for; more (a fan-out) are left to
    /// the other loop, which works through them alongside this one.
    static let helpLimit = 2

    /// Rounds of tasks a helper runs at most: tasks that keep queueing more (a replay feeding a
    /// fast reader) are left to the loop's own thread.
    static let helpRounds = 4

    /// Runs this loop's queued tasks on the calling thread (another loop's), if this loop is
    /// asleep in epoll and they are few; false when it left them (the loop must then be woken).
    private func runTasksWhileAsleep() -> Bool {
        guard ownership.tryLock() else { return false }
        defer { ownership.unlock() }
        guard running.load(ordering: .relaxed), tasks.withLock({ $0.queue.count }) <= Self.helpLimit else { return false }
        loopThreadID.store(UInt(pthread_self()), ordering: .relaxed)
        defer { loopThreadID.store(0, ordering: .relaxed) }
        helpedRuns.add(1, ordering: .relaxed)
        for _ in 0..<Self.helpRounds {
            runTasks()
            drainEndOfIteration()
            if tasks.withLock({ $0.queue.isEmpty }) { return true }
        }
        return false
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
