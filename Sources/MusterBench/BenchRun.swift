import Foundation
import Glibc
import MusterNet
import Synchronization

/// The shared state of one scenario run: progress counters, the connections to interrupt
/// when it ends or stalls, and the first failure. Threads of the run report here.
final class BenchRun: Sendable {
    let scenario: String
    let sent = Atomic<Int>(0)
    let received = Atomic<Int>(0)
    private let state = Mutex<(sockets: [BlockingTLSSocket], failure: String?, finished: Bool)>(([], nil, false))
    /// Mirrors `state.finished` for the readers that look at it on every frame: a lock taken by
    /// every subscriber thread per frame becomes a convoy that throttles the client itself.
    private let finished = Atomic<Bool>(false)
    private let showProgress: Bool
    /// A run in which nothing was sent or received for this long is abandoned.
    private let stallLimit: Duration
    private let reporterDone = DispatchSemaphore(value: 0)

    init(scenario: String, showProgress: Bool, stallLimit: Duration = .seconds(30)) {
        self.scenario = scenario
        self.showProgress = showProgress
        self.stallLimit = stallLimit
    }

    var isFinished: Bool { finished.load(ordering: .acquiring) }
    var failure: String? { state.withLock { $0.failure } }

    func track(_ connection: BenchConnection) {
        let interruptNow = state.withLock { state -> Bool in
            state.sockets.append(connection.socket)
            return state.failure != nil
        }
        if interruptNow { connection.socket.interrupt() }
    }

    /// How often a waiting subscriber looks whether the run has ended.
    static let pollInterval = Duration.milliseconds(100)

    /// Records the first failure and ends the run at once: every thread blocked on a
    /// connection wakes up with an error and stops.
    func fail(_ reason: String) {
        let sockets = state.withLock { state -> [BlockingTLSSocket] in
            guard !state.finished else { return [] }
            state.failure = reason
            state.finished = true
            finished.store(true, ordering: .releasing)
            return state.sockets
        }
        for socket in sockets { socket.interrupt() }
    }

    /// Ends a run that succeeded: subscribers notice within `pollInterval`, acknowledge what
    /// they received and disconnect; publishers finish on their own.
    func finish() {
        state.withLock { state in
            state.finished = true
            finished.store(true, ordering: .releasing)
        }
    }

    /// Runs each body on its own thread and waits for all; a body that throws before the run
    /// finished fails the run.
    func runThreads(_ bodies: [@Sendable () throws -> Void]) {
        let group = DispatchGroup()
        for body in bodies {
            group.enter()
            let thread = Thread { [self] in
                do { try body() } catch { if !isFinished { fail("\(error)") } }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
    }

    /// Prints progress to stderr once a second and abandons the run if it stalls; stop with `finish`.
    func startReporter() {
        let thread = Thread { [self] in
            let start = ContinuousClock.now
            var last = (sent: 0, received: 0, at: start)
            var lastChange = start
            while !isFinished {
                Thread.sleep(forTimeInterval: 1)
                let now = ContinuousClock.now
                let current = (sent: sent.load(ordering: .relaxed), received: received.load(ordering: .relaxed), at: now)
                if current.sent != last.sent || current.received != last.received { lastChange = now }
                if showProgress && !isFinished {
                    let seconds = (now - last.at) / .seconds(1)
                    let line = String(format: "[%@] %5.1f s  sent %@ (%@/s)  received %@ (%@/s)",
                                      scenario, (now - start) / .seconds(1),
                                      BenchReport.format(Double(current.sent)), BenchReport.format(Double(current.sent - last.sent) / seconds),
                                      BenchReport.format(Double(current.received)), BenchReport.format(Double(current.received - last.received) / seconds))
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
                last = current
                if now - lastChange > stallLimit {
                    fail("nothing was sent or received for \(stallLimit) (sent \(current.sent), received \(current.received)); is the broker refusing or holding back messages?")
                }
            }
            reporterDone.signal()
        }
        thread.start()
    }

    func waitForReporter() { reporterDone.wait() }

    /// Throws the run's failure, if any.
    func check() throws {
        if let failure { throw BenchError(failure) }
    }
}

/// Monotonic nanoseconds (the same clock in every thread and process of this machine).
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
