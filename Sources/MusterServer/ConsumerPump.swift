import Dispatch
import Foundation
import Glibc
import Logging
import MusterBroker
import Synchronization

/// The thread that feeds tracked consumers from the log: it wakes on new records, ACKs,
/// subscriptions and drained connections, and at the next ack-wait deadline; each round
/// expires overdue deliveries and delivers what consumers with room can take. It also saves
/// the consumer registry now and then, so a restart reads only the recent log.
final class ConsumerPump: @unchecked Sendable {
    private let broker: Broker
    private let registry: ConsumerRegistry
    private let logger: Logger
    private let wakeSignal = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    /// How often the registry's floors are saved.
    static let checkpointInterval: Int64 = 10_000
    /// The longest the pump sleeps without a reason to wake.
    static let idleWait: Int64 = 1_000
    /// The thread that is committing appends it will feed consumers from itself (0: none), so
    /// that their append notice does not wake the pump.
    private let inlineFeeder = Atomic<UInt>(0)
    /// When the sleeping pump wakes on its own (broker clock; 0 while it works).
    private let sleepsUntil = Atomic<Int64>(0)
    /// A wake is signalled and no round has started since: more wakes add nothing. Without it
    /// every ACK made a round of its own (locks, a read, a futex wake) for one message.
    private let wakePending = Atomic<Bool>(false)

    init(broker: Broker, registry: ConsumerRegistry, logger: Logger) {
        self.broker = broker
        self.registry = registry
        self.logger = logger
    }

    func start() {
        // Without tracked consumers there is nothing to feed: publishers and topic subscribers
        // then cost this thread no wake-up per message or per drained connection.
        broker.onWork { [weak self] in self?.wakeIfFeeding() }
        broker.store.observeAppends { [weak self] in self?.wakeIfFeeding() }
        let thread = Thread { [self] in run() }
        thread.name = "muster-consumers"
        thread.start()
    }

    func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) { wakeSignal.signal() }
    }

    private func wakeIfFeeding() {
        if wakePending.load(ordering: .acquiring) { return }
        if inlineFeeder.load(ordering: .acquiring) == Self.currentThread { return }
        if broker.hasTrackedConsumers { wake() }
    }

    private static var currentThread: UInt { UInt(bitPattern: Int(bitPattern: pthread_self())) }

    /// Writes the appends this thread deferred. When the log wrote them here (its writer was
    /// idle, so this is a lone message, not a stream), consumers are fed here too: a subscriber
    /// on this event loop gets the message with no thread hop, one on another loop with one
    /// hop instead of two (each costs tens of µs on a virtual machine).
    func commitAndFeed() {
        let thread = Self.currentThread
        let claimed = inlineFeeder.compareExchange(expected: 0, desired: thread, ordering: .acquiringAndReleasing).exchanged
        let committedHere = broker.store.commitPending()
        if claimed { inlineFeeder.store(0, ordering: .releasing) }
        guard claimed, committedHere, broker.hasTrackedConsumers else { return }
        // A working pump (a consumer catching up from the log) keeps that work, and its disk
        // reads, off the event loop; it is only told that there is more.
        guard sleepsUntil.load(ordering: .acquiring) != 0 else {
            wake()
            return
        }
        let (_, deadline) = broker.pumpStep()
        // A new delivery's ack-wait may run out before the sleeping pump would look again.
        let wakesAt = sleepsUntil.load(ordering: .acquiring)
        if let deadline, wakesAt == 0 || deadline < wakesAt { wake() }
    }

    /// Stops the thread and saves the registry one last time.
    func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        // Signalled even when a wake is pending: the pump may have taken that wake's signal
        // already and not yet started its round.
        wakeSignal.signal()
        stopped.wait()
        saveRegistry()
    }

    /// Saves the registry now (a durable subscription was created or deleted).
    func saveRegistry() {
        checkpoint(broker.inspect { [broker] in ConsumerRegistry.contents(of: $0, deadLetters: broker.unrecordedDeadLetters) })
    }

    private func run() {
        var lastCheckpoint = broker.clock()
        while !stopping.load(ordering: .relaxed) {
            // Cleared before the round: a wake from now on may be for work this round misses.
            wakePending.store(false, ordering: .releasing)
            let (progressed, deadline) = broker.pumpStep()
            let now = broker.clock()
            if now - lastCheckpoint >= Self.checkpointInterval {
                saveRegistry()
                lastCheckpoint = now
            }
            if progressed { continue }
            let wait = max(1, min(Self.idleWait, (deadline ?? .max) - now))
            sleepsUntil.store(now + wait, ordering: .releasing)
            _ = wakeSignal.wait(timeout: .now() + .milliseconds(Int(wait)))
            sleepsUntil.store(0, ordering: .releasing)
        }
        stopped.signal()
    }

    private func checkpoint(_ contents: ConsumerRegistry.Contents) {
        // The registry may never claim acknowledgements whose records are not yet durable.
        broker.store.waitUntilDurable()
        do {
            try registry.save(contents)
        } catch {
            logger.error("cannot save the consumer registry: \(error)")
        }
    }
}
