import Foundation
import Glibc
import Synchronization
import MusterTestSupport
import Testing
@testable import MusterNet

/// A lightly loaded loop runs the tasks it hands to a sleeping loop itself (no wake-up of the
/// other loop's thread); a busy one wakes the other loop; either way every task runs once,
/// in order, as the target loop.
@Suite("Loops helping sleeping loops", .timeLimit(.minutes(2)))
struct LoopHelpTests {
    private struct Run: Sendable {
        let source: Int
        let sequence: Int
        let asTarget: Bool
        let thread: UInt
    }

    /// The thread a loop runs on, learnt from the loop itself.
    private func thread(of loop: EventLoop) async throws -> UInt {
        let seen = Mutex<UInt>(0)
        loop.execute { seen.withLock { $0 = UInt(pthread_self()) } }
        try await eventually("\(loop.name) ran a task") { seen.withLock { $0 } != 0 }
        return seen.withLock { $0 }
    }

    /// Repeats `attempt` until one reports that the source loop helped (the target may have been
    /// awake for another reason, so a few attempts are allowed); whether any did.
    private func untilHelped(_ attempt: (Int) async throws -> Bool) async rethrows -> Bool {
        for index in 0..<20 {
            if try await attempt(index) { return true }
        }
        return false
    }

    @Test("A lightly loaded loop runs what it hands to a sleeping loop on its own thread, as that loop")
    func aLightlyLoadedLoopRunsASleepingLoopsTaskItself() async throws {
        let group = try EventLoopGroup(count: 2, namePrefix: "help-test")
        defer { group.shutdown() }
        let (source, target) = (group.loops[0], group.loops[1])
        let sourceThread = try await thread(of: source)
        // The source loop is woken from a long sleep by each attempt (lightly loaded).
        let helped = try await untilHelped { attempt in
            let run = Mutex<Run?>(nil)
            source.execute {
                target.execute {
                    let thread = UInt(pthread_self())
                    // Run by the source loop's thread, the task has both loops' state at hand.
                    let asTarget = target.inLoop && (thread != sourceThread || source.inLoop)
                    run.withLock { $0 = Run(source: 0, sequence: attempt, asTarget: asTarget, thread: thread) }
                }
            }
            try await eventually("attempt \(attempt) ran") { run.withLock { $0 } != nil }
            let seen = try #require(run.withLock { $0 })
            #expect(seen.asTarget, "the task ran as the target loop (and, on the source's thread, as the source too)")
            return seen.thread == sourceThread
        }
        #expect(helped, "the task ran on the source loop's thread")
        #expect(target.helpedRunCount > 0)
    }

    @Test("A loop that did not sleep before its iteration wakes the other loop instead")
    func aBusyLoopWakesTheOtherLoop() async throws {
        let group = try EventLoopGroup(count: 2, namePrefix: "busy-test")
        defer { group.shutdown() }
        let (source, target) = (group.loops[0], group.loops[1])
        let targetThread = try await thread(of: target)
        let ranOn = Mutex<UInt>(0)
        // The inner task is queued from the loop itself, so the next iteration does not sleep.
        source.execute {
            source.execute {
                target.execute { ranOn.withLock { $0 = UInt(pthread_self()) } }
            }
        }
        try await eventually("the task ran") { ranOn.withLock { $0 } != 0 }
        #expect(ranOn.withLock { $0 } == targetThread, "the busy loop left the work to the target loop's thread")
        #expect(target.helpedRunCount == 0)
    }

    @Test("Tasks two loops hand each other all run once, in order, as their target loop")
    func tasksHandedBetweenLoopsRunOnceInOrder() async throws {
        let group = try EventLoopGroup(count: 2, namePrefix: "order-test")
        defer { group.shutdown() }
        let loops = group.loops
        let each = 3_000
        let runs = Mutex<[Run]>([])
        for source in 0..<2 {
            let target = loops[1 - source]
            Thread.detachNewThread {
                for sequence in 0..<each {
                    loops[source].execute {
                        target.execute {
                            let run = Run(source: source, sequence: sequence, asTarget: target.inLoop, thread: UInt(pthread_self()))
                            runs.withLock { $0.append(run) }
                        }
                    }
                    if sequence % 100 == 0 { usleep(200) }  // lets the loops fall asleep now and then
                }
            }
        }
        try await eventually("every task ran") { runs.withLock { $0.count } >= 2 * each }
        let all = runs.withLock { $0 }
        #expect(all.count == 2 * each, "no task ran twice")
        let offTarget = all.filter { !$0.asTarget }.count
        #expect(offTarget == 0, "every task ran as its target loop")
        for source in 0..<2 {
            #expect(all.filter { $0.source == source }.map(\.sequence) == Array(0..<each), "tasks from loop \(source) ran out of order")
        }
    }

    @Test("Tasks that keep queueing more for their loop are left to that loop's thread after a few rounds")
    func helpIsBounded() async throws {
        let group = try EventLoopGroup(count: 2, namePrefix: "bounded-test")
        defer { group.shutdown() }
        let (source, target) = (group.loops[0], group.loops[1])
        let sourceThread = try await thread(of: source)
        let targetThread = try await thread(of: target)
        let chain = 20
        let helped = try await untilHelped { attempt in
            let threads = Mutex<[UInt]>([])
            @Sendable func step(_ index: Int) {
                threads.withLock { $0.append(UInt(pthread_self())) }
                if index + 1 < chain { target.execute { step(index + 1) } }
            }
            source.execute { target.execute { step(0) } }
            try await eventually("attempt \(attempt)'s chain ran") { threads.withLock { $0.count } == chain }
            let ran = threads.withLock { $0 }
            guard ran.first == sourceThread else { return false }
            #expect(ran.last == targetThread, "the helper stopped after \(EventLoop.helpRounds) rounds and woke the target")
            return true
        }
        #expect(helped, "some attempt was helped")
    }

    /// Records its end-of-iteration calls (and the test's marker task) in order.
    private final class FlushProbe: EventHandler, @unchecked Sendable {
        let events = Mutex<[String]>([])
        func handleReadiness(readable: Bool, writable: Bool, hangup: Bool) {}
        func handleTick(now: ContinuousClock.Instant) {}
        func handleEndOfIteration() { events.withLock { $0.append("flush") } }
    }

    @Test("What a helped task queues for the helping loop's own end of iteration is sent in that iteration")
    func helpersFlushTheirOwnWritesToo() async throws {
        let group = try EventLoopGroup(count: 2, namePrefix: "own-flush-test")
        defer { group.shutdown() }
        let (source, target) = (group.loops[0], group.loops[1])
        let sourceThread = try await thread(of: source)
        let helped = try await untilHelped { attempt in
            let probe = FlushProbe()
            let ranOnSource = Mutex<Bool?>(nil)
            source.execute {
                target.execute {
                    // Run by the source's thread, this task may write to the source's connections.
                    let onSource = UInt(pthread_self()) == sourceThread
                    if onSource { source.flushAtEndOfIteration(probe) }
                    ranOnSource.withLock { $0 = onSource }
                }
            }
            try await eventually("attempt \(attempt) ran") { ranOnSource.withLock { $0 } != nil }
            guard ranOnSource.withLock({ $0 }) == true else { return false }
            // A task queued now runs in the source's next iteration: the flush must come before it.
            let marked = Mutex(false)
            source.execute { probe.events.withLock { $0.append("next task") }; marked.withLock { $0 = true } }
            try await eventually("the next task ran") { marked.withLock { $0 } }
            #expect(probe.events.withLock { $0 } == ["flush", "next task"])
            return true
        }
        #expect(helped, "some attempt was helped")
    }
}
