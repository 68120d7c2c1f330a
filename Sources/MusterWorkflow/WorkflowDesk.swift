import Foundation
public import MusterBroker
public import MusterProtocol
import MusterSchema
import Synchronization

/// Where workflow messages are decided, in one order: the desk stamps a summons, report-in,
/// evaluation, hand-off or joint-operation message, asks the book whether the transition is
/// allowed, and hands it to the store while still holding its lock, so the log receives the
/// messages in the order the book took them. The timers write what the book says is owed.
/// A failed append leaves the book ahead of the log; the desk then rebuilds it from the log
/// before its next decision.
public final class WorkflowDesk: WorkflowHandling, @unchecked Sendable {

    /// The broker's own identity: the sender of inbox copies, reminders and escalations.
    public let identity: PartyIdentity
    private let clock: @Sendable () -> Int64
    private let directory: @Sendable () -> WorkflowDirectory
    /// Whether the sender may put this publication into the inbox it names (admission lists).
    private let inboxCheck: @Sendable (Publication) -> PolicyRefusal?
    private let rebuild: (@Sendable () throws -> (WorkflowBook, InboxDeliveries))?
    /// Adds linked jurisdictions to a record's `muster-export` (the federation's stamp), in the
    /// lane of the given type.
    private let exportStamp: @Sendable (Publication, [String], String?) -> Publication
    /// Recursive: an in-memory store completes an append on the calling thread. Lock order: MusterServer/LockOrder.swift.
    private let lock = NSRecursiveLock()
    private var book: WorkflowBook
    private var stale = false
    private let deliveries: Mutex<InboxDeliveries>
    private let wake = Mutex<(@Sendable () -> Void)?>(nil)

    public init(identity: PartyIdentity, clock: @escaping @Sendable () -> Int64,
                directory: @escaping @Sendable () -> WorkflowDirectory,
                inboxCheck: @escaping @Sendable (Publication) -> PolicyRefusal? = { _ in nil },
                restored: (WorkflowBook, InboxDeliveries) = (WorkflowBook(), InboxDeliveries()),
                rebuild: (@Sendable () throws -> (WorkflowBook, InboxDeliveries))? = nil,
                exportStamp: @escaping @Sendable (Publication, [String], String?) -> Publication = { publication, _, _ in publication }) {
        self.exportStamp = exportStamp
        self.identity = identity
        self.clock = clock
        self.directory = directory
        self.inboxCheck = inboxCheck
        self.book = restored.0
        self.deliveries = Mutex(restored.1)
        self.rebuild = rebuild
    }

    /// Whether `publication` is a workflow message (its type is one the workflows follow).
    public func claims(_ publication: Publication) -> Bool {
        publication.headers[ReservedHeader.type].flatMap(WorkflowType.init(rawValue:)) != nil
    }

    /// Who to poke when a new deadline may be nearer (the timer thread).
    public func onDeadlineChange(_ handler: @escaping @Sendable () -> Void) {
        wake.withLock { $0 = handler }
    }

    /// Decides a client's workflow message and, if the workflow takes it, stores it (and the
    /// inbox copies it makes owed). `completion` gets the stored message or the refusal.
    public func submit(_ publication: Publication, store: Store, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        refreshIfStale()
        let now = clock()
        let parties = directory()
        let stamped: Publication
        switch book.stamp(publication, time: now, directory: parties) {
        case .success(let value): stamped = value
        case .failure(let error): return completion(.failure(error))
        }
        guard let message = WorkflowMessage(stamped) else {
            return completion(.failure(BrokerError(.schemaViolation, "a workflow message must be a JSON object with its action")))
        }
        for copy in inboxCopies(of: message) {
            if let refusal = inboxCheck(copy) { return completion(.failure(refusal.reported)) }
        }
        // `handle` checks everything before it changes anything: a refusal leaves the book as it was.
        if case .failure(let error) = book.handle(message) { return completion(.failure(error)) }
        append(stamped, directory: parties, store: store, completion: completion)
        writeOwed(now: now, directory: parties, store: store)
        wake.withLock { $0 }?()
    }

    /// Writes what is owed now (reminders, escalations, copies) and returns the next deadline.
    @discardableResult
    public func runTimers(store: Store) -> Int64? {
        lock.lock()
        defer { lock.unlock() }
        refreshIfStale()
        writeOwed(now: clock(), directory: directory(), store: store)
        return book.nextDeadline()
    }

    /// Notes delivery events (called with the broker's lock held: touches only a leaf lock).
    /// A copy of a cross-border case that was delivered or acknowledged owes a receipt: the timers write it.
    public func observe(_ events: [LedgerEvent]) {
        if deliveries.withLock({ $0.note(events) }) { wake.withLock { $0 }?() }
    }

    /// Takes a workflow record a linked broker sent (a party's message it decided, or, with
    /// `fromBroker`, a record that broker wrote): decided against this broker's copy of the case
    /// (`WorkflowBook.bounded` dates it; the admission lists here judge what it puts in this
    /// broker's inboxes) and stored, marked with when it arrived, or refused at once (nothing
    /// changed). The owner of the case may owe something after it (a copy to a new assignee).
    public func takeImported(_ publication: Publication, fromBroker jurisdiction: String?, store: Store,
                             completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) -> BrokerError? {
        lock.lock()
        defer { lock.unlock() }
        refreshIfStale()
        let parties = directory()
        let origin = FederationHeader.jurisdictions(publication.headers[FederationHeader.via]).first
        let followed = origin.map(parties.linked.contains) == true && publication.headers[WorkflowHeader.id].map(WorkflowBook.isCrossBorder) == true
        // A party's message of a case only its origin follows (an import rule brought it) is
        // stored as that broker decided it, unmarked and not run here: replay skips it too.
        if jurisdiction == nil, !followed {
            store(publication, completion)
            return nil
        }
        guard followed else { return BrokerError(.notAuthorized, "this broker follows no cases with \(origin ?? "that broker")'s (federation.peers[].workflows)") }
        var received = publication
        received.headers[WorkflowHeader.receivedAt] = String(clock())
        guard let message = WorkflowMessage(received) else {
            return BrokerError(.schemaViolation, "a \(publication.headers[ReservedHeader.type] ?? "workflow") record from a linked broker must carry its workflow time and a JSON object")
        }
        if let refusal = book.refusalOfImport(message, directory: parties) { return refusal }
        if let jurisdiction {
            if let refusal = book.refusalOfBrokerRecord(message, from: jurisdiction, directory: parties) { return refusal }
        } else {
            for copy in inboxCopies(of: message, servedBy: parties) {
                if let refusal = inboxCheck(copy) { return refusal.reported }
            }
        }
        if case .failure(let error) = book.handle(message) { return error }
        append(received, directory: parties, store: store, completion: completion)
        writeOwed(now: clock(), directory: parties, store: store)
        wake.withLock { $0 }?()
        return nil
    }

    /// Takes a stored record the broker wrote outside the desk (a refusal record), as a replay would.
    public func note(_ message: StoredMessage) {
        lock.lock()
        defer { lock.unlock() }
        book.replay(message.publication)
    }

    /// Reads the book and the delivery marks.
    public func read<Result>(_ body: (WorkflowBook, InboxDeliveries) -> Result) -> Result {
        lock.lock()
        defer { lock.unlock() }
        refreshIfStale()
        return deliveries.withLock { body(book, $0) }
    }

    public var now: Int64 { clock() }

    // MARK: Inside the lock

    private func writeOwed(now: Int64, directory: WorkflowDirectory, store: Store) {
        let moved = directory.linked.isEmpty ? [] : deliveries.withLock { $0.takeChanged() }
        let receipts = moved.compactMap { key, marks in book.receipt(for: key.id, party: key.party, marks: marks, now: now, broker: identity, directory: directory) }
        // Each owed message is taken by the book as it is stored; the loop ends when nothing is owed.
        for round in 0..<8 {
            let owed = (round == 0 ? receipts : []) + book.dueMessages(now: now, broker: identity, directory: directory)
            if owed.isEmpty { return }
            for publication in owed {
                guard let message = WorkflowMessage(publication) else { continue }
                _ = book.handle(message)
                append(publication, directory: directory, store: store, completion: nil)
            }
        }
    }

    private func append(_ publication: Publication, directory: WorkflowDirectory, store: Store,
                        completion: (@Sendable (Result<StoredMessage, BrokerError>) -> Void)?) {
        let targets = book.crossBorderTargets(of: publication, directory: directory)
        let lane = publication.headers[WorkflowHeader.id].flatMap(book.laneType(ofCase:))
        store(targets.isEmpty ? publication : exportStamp(publication, targets, lane)) { [self] result in
            switch result {
            case .success(let stored):
                deliveries.withLock { $0.noteStored(stored) }
            case .failure:
                lock.lock()
                stale = true
                lock.unlock()
            }
            completion?(result)
        }
    }

    private func refreshIfStale() {
        guard stale, let rebuild, let rebuilt = try? rebuild() else { return }
        book = rebuilt.0
        deliveries.withLock { $0 = rebuilt.1 }
        stale = false
    }

    /// The inbox messages a client's message leads to, as if its sender published them:
    /// the admission list of each inbox must let them in.
    /// With `directory`, only those of the parties this broker serves (a linked broker judges its own).
    private func inboxCopies(of message: WorkflowMessage, servedBy directory: WorkflowDirectory? = nil) -> [Publication] {
        var targets: [PartyIdentity] = []
        switch (message.type, message.action) {
        case (.summons, "open"): targets = message.parties(header: WorkflowHeader.summoned)
        case (.handoff, "dispatch"), (.handoff, "transfer"): targets = message.party(header: WorkflowHeader.assignee).map { [$0] } ?? []
        default: return []
        }
        // A transfer's copy carries the original dispatch, whose task type the admission list judges.
        let body = message.action == "transfer" ? message.caseID.flatMap { book.handoffs[$0]?.dispatchBody } : nil
        return targets.filter { !(directory?.isRemote($0) ?? false) }.compactMap { party in
            let inbox = WorkflowBook.inbox(of: party)
            guard inbox != message.destination else { return nil }
            var copy = message.publication
            copy.destination = inbox
            if let body { copy.body = body }
            return copy
        }
    }
}
