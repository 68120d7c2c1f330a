import Dispatch
import Foundation
import MusterBroker
import Synchronization

/// The thread that writes reminders and escalations when they fall due: it sleeps until
/// the book's next deadline (or until a new workflow message may have brought one nearer),
/// then asks the broker to write what is owed. Nobody has to watch for a late party.
final class WorkflowTimers: @unchecked Sendable {
    private let broker: Broker
    private let clock: @Sendable () -> Int64
    /// Story-time milliseconds per real millisecond (`muster demo --speed`); 1 in production.
    private let speed: Double
    private let wakeSignal = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    /// The longest the thread sleeps without a reason to wake (a clock change, a reload).
    static let idleWait: Int64 = 5_000

    init(broker: Broker, clock: @escaping @Sendable () -> Int64, speed: Double) {
        self.broker = broker
        self.clock = clock
        self.speed = speed
    }

    func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        broker.workflow?.onDeadlineChange { [weak self] in self?.wakeSignal.signal() }
        let thread = Thread { [self] in run() }
        thread.name = "muster-workflow-timers"
        thread.start()
    }

    /// Runs the timers now (the clock may have moved, or the parties who hear of escalations changed).
    func wake() { wakeSignal.signal() }

    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing), started.load(ordering: .acquiring) else { return }
        wakeSignal.signal()
        stopped.wait()
    }

    private func run() {
        while !stopping.load(ordering: .acquiring) {
            let next = broker.runWorkflowTimers()
            // Story time until the next deadline, in real milliseconds (at least 1: the clock may lag the deadline).
            let storyWait = next.map { max(1, $0 - clock()) } ?? Self.idleWait * Int64(speed.rounded(.up))
            let realWait = min(Self.idleWait, max(1, Int64((Double(storyWait) / speed).rounded(.up))))
            _ = wakeSignal.wait(timeout: .now() + .milliseconds(Int(realWait)))
        }
        stopped.signal()
    }
}
