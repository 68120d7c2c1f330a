import Foundation
import MusterBroker
import MusterLog
import MusterProtocol
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterServer

/// Delivery events are written a batch at a time, a record per subscription and batch
/// (`LedgerQueue`, `LogEntry.ledgerRecords`), and read back event by event.
@Suite("delivery events in batch records")
struct LedgerBatchTests {
    static let patrol = Destination(kind: .topic, name: "jinshan.patrol")
    static let complaints = Destination(kind: .queue, name: "complaints")
    static let security = PartyIdentity(jurisdiction: "jinshan", party: "jinshan-public-security")
    static let grid = PartyIdentity(jurisdiction: "jinshan", party: "shanta-village-grid")

    static func event(_ kind: LedgerEvent.Kind, _ offset: UInt64, party: PartyIdentity = security, at: Int64 = 1_765_000_000_000,
                      deliveredAt: Int64? = nil, count: Int = 1, reason: String? = nil, destination: Destination = patrol) -> LedgerEvent {
        LedgerEvent(kind: kind, consumer: ConsumerName(text: "durable:\(party.description)/inbox"), generation: 3, destination: destination,
                    offset: offset, party: party, subscriptionID: "inbox", deliveryCount: count, deliveredAt: deliveredAt ?? at, at: at, reason: reason)
    }

    // MARK: The queue's rule

    @Test func eventsWaitWhileABatchIsWrittenAndGoTogetherAfterIt() {
        var queue = LedgerQueue()
        guard case .write(let first) = queue.add([Self.event(.delivered, 1)], completion: nil) else {
            Issue.record("an idle queue writes at once")
            return
        }
        #expect(first.events.map(\.offset) == [1] && !first.needsSync)
        for offset in 2...4 as ClosedRange<UInt64> {
            guard case .queued = queue.add([Self.event(.acked, offset)], completion: nil) else {
                Issue.record("an event came while a batch was written and was not queued")
                return
            }
        }
        let (done, next) = queue.written(first.id, failure: nil)
        #expect(done.isEmpty, "the first batch had no one waiting")
        #expect(next?.events.map(\.offset) == [2, 3, 4], "everything queued goes in one batch, in order")
        #expect(next?.needsSync == false)
        let (_, after) = queue.written(next?.id ?? 99, failure: nil)
        #expect(after == nil && queue.isIdle)
    }

    @Test func anEventSomeoneWaitsForIsNotHeldBack() {
        var queue = LedgerQueue()
        guard case .write(let first) = queue.add([Self.event(.delivered, 1)], completion: nil) else { Issue.record("idle: at once"); return }
        _ = queue.add([Self.event(.delivered, 2)], completion: nil)
        let receipts = Mutex<[String]>([])
        let receipt: LedgerQueue.Completion = { _ in receipts.withLock { $0.append("ack 3") } }
        guard case .write(let batch) = queue.add([Self.event(.acked, 3)], completion: receipt) else {
            Issue.record("an ACK's receipt waited for the batch being written")
            return
        }
        #expect(batch.events.map(\.offset) == [2, 3] && batch.needsSync, "it takes what queued before it along, and is durable")
        let (firstDone, next) = queue.written(first.id, failure: nil)
        #expect(firstDone.isEmpty && next == nil, "the first batch had no one waiting; nothing queued since")
        let (secondDone, _) = queue.written(batch.id, failure: nil)
        for (completion, error) in secondDone { completion(error) }
        #expect(receipts.withLock { $0 } == ["ack 3"] && queue.isIdle)
    }

    @Test func waitingForNothingCompletesOnceWhatCameBeforeIsWritten() {
        var queue = LedgerQueue()
        guard case .completeNow = queue.add([], completion: { _ in }) else { Issue.record("nothing pending: at once"); return }
        guard case .write(let batch) = queue.add([Self.event(.delivered, 1)], completion: nil) else { Issue.record("idle: at once"); return }
        let waited = Mutex(0)
        guard case .queued = queue.add([], completion: { _ in waited.withLock { $0 += 1 } }) else { Issue.record("a batch is written: wait"); return }
        let (completions, next) = queue.written(batch.id, failure: nil)
        #expect(completions.count == 1 && next == nil, "it waits for the batch being written, not a new one")
        for (completion, error) in completions { completion(error) }
        #expect(waited.withLock { $0 } == 1)
    }

    @Test func eachCompletionGetsItsOwnBatchsOutcomeInOrder() {
        var queue = LedgerQueue()
        let heard = Mutex<[String]>([])
        func receipt(_ name: String) -> LedgerQueue.Completion {
            { error in heard.withLock { $0.append("\(name): \(error == nil ? "stored" : "failed")") } }
        }
        guard case .write(let first) = queue.add([Self.event(.acked, 1)], completion: receipt("ack 1")),
              case .write(let second) = queue.add([Self.event(.acked, 2)], completion: receipt("ack 2")) else {
            Issue.record("ACKs with receipts go at once")
            return
        }
        // The second is reported first (a failure of the first is reported from another thread).
        let (early, _) = queue.written(second.id, failure: nil)
        #expect(early.isEmpty, "nothing is told before the batches handed over before it are")
        let (due, _) = queue.written(first.id, failure: BrokerError(.storageFailure, "disk full"))
        for (completion, error) in due { completion(error) }
        #expect(heard.withLock { $0 } == ["ack 1: failed", "ack 2: stored"])
        #expect(queue.isIdle)
    }

    // MARK: The record form

    @Test func aConsumersEventsKeepTheirOrderAcrossItsSubscribers() throws {
        // One queue, two workers: A's delivery of 7 is released (A left) and 7 goes to B, who acks
        // it, while B also works on 8. Recovery must read `released` before `acked`.
        let work = Destination(kind: .queue, name: "work")
        func event(_ kind: LedgerEvent.Kind, _ offset: UInt64, _ worker: String, count: Int = 1) -> LedgerEvent {
            LedgerEvent(kind: kind, consumer: .queue(work), generation: 0, destination: work, offset: offset,
                        party: PartyIdentity(jurisdiction: "jinshan", party: worker), subscriptionID: "w", deliveryCount: count,
                        deliveredAt: 1_000, at: 1_000)
        }
        let events = [event(.delivered, 7, "worker-a"), event(.delivered, 8, "worker-b"), event(.released, 7, "worker-a"),
                      event(.delivered, 7, "worker-b", count: 2), event(.acked, 7, "worker-b", count: 2), event(.acked, 8, "worker-b")]
        let read = try Self.stored(LogEntry.ledgerRecords(events)).flatMap(LedgerEvent.events(in:))
        #expect(read.map(Keyed.init) == events.map(Keyed.init), "the consumer's events in the order they happened")
    }


    @Test func aBatchPacksRunsPerSubscriptionAndReadsBackEventForEvent() throws {
        let at: Int64 = 1_765_000_000_000
        var events: [LedgerEvent] = []
        for offset in 100..<164 as Range<UInt64> { events.append(Self.event(.delivered, offset, at: at)) }
        for offset in 100..<132 as Range<UInt64> { events.append(Self.event(.acked, offset, party: Self.grid, at: at + 2, deliveredAt: at)) }
        events.append(Self.event(.nacked, 140, at: at + 5, deliveredAt: at, reason: "NACK from the desk\nsecond line"))
        events.append(Self.event(.expired, 141, at: at - 7, deliveredAt: at - 9, count: 2, reason: "not acknowledged within 30 s"))
        events.append(Self.event(.deadLettered, 142, at: at + 9, count: 5, reason: "max-deliveries 5", destination: Self.complaints))
        let entries = LogEntry.ledgerRecords(events)
        #expect(entries.count == 3, "one record per subscription and destination: security's patrol, the grid's, security's complaints")
        #expect(entries.allSatisfy { $0.kind == .delivery })
        let lines = entries.map { String(decoding: $0.body, as: UTF8.self).split(separator: "\n").count }
        #expect(lines == [3, 1, 1], "runs of consecutive offsets that agree on the rest share a line")

        let records = try Self.stored(entries)
        let read = records.flatMap(LedgerEvent.events(in:))
        var expected = events
        expected[expected.count - 3] = Self.event(.nacked, 140, at: at + 5, deliveredAt: at, reason: "NACK from the desk second line")
        #expect(Set(read.map(Keyed.init)) == Set(expected.map(Keyed.init)), "every event comes back, with its times, counts and reasons")
        #expect(read.filter { $0.party == Self.security && $0.destination == Self.patrol }.map(\.offset)
                    == Array(100..<164) + [140, 141], "a subscription's events keep their order")
    }

    @Test func aLargeBatchSplitsIntoRecordsOfBoundedSize() {
        // Every other offset: no runs, one line per event.
        let events = (0..<UInt64(LogEntry.ledgerLinesPerRecord + 10)).map { Self.event(.acked, $0 * 2) }
        let entries = LogEntry.ledgerRecords(events)
        #expect(entries.count == 2)
        #expect(entries.map { $0.headers.first { $0.name == DeliveryRecordHeader.events }?.value } == [String(LogEntry.ledgerLinesPerRecord), "10"])
    }

    @Test func singleFormRecordsOfOlderLogsStillRead() throws {
        let old = LogEntry(kind: .delivery, destination: Self.patrol.description, headers: [
            LogHeader(DeliveryRecordHeader.event, "acked"), LogHeader(DeliveryRecordHeader.consumer, "session:4/s-1"),
            LogHeader(DeliveryRecordHeader.generation, "0"), LogHeader(DeliveryRecordHeader.offset, "77"),
            LogHeader(DeliveryRecordHeader.party, "jinshan/shanta-village-grid"), LogHeader(DeliveryRecordHeader.subscription, "s-1"),
            LogHeader(DeliveryRecordHeader.deliveryCount, "2"), LogHeader(DeliveryRecordHeader.deliveredAt, "1000"),
            LogHeader(DeliveryRecordHeader.at, "1500"),
        ], body: [])
        let events = try Self.stored([old]).flatMap(LedgerEvent.events(in:))
        #expect(events.count == 1)
        #expect(events.first.map { ($0.kind, $0.offset, $0.party, $0.deliveryCount, $0.deliveredAt, $0.at) } ?? (.delivered, 0, Self.security, 0, 0, 0)
                    == (.acked, 77, Self.grid, 2, 1000, 1500))
    }

    @Test func aDamagedLineEndsTheRecordsEventsThere() throws {
        let good = LogEntry.ledgerRecords([Self.event(.acked, 5), Self.event(.acked, 9)])[0]
        var damaged = good
        damaged.body = Array("acked 5 1 0 0\nacked 9-3 1 0 0\nacked 12 1 0 0\n".utf8)
        let events = try Self.stored([damaged]).flatMap(LedgerEvent.events(in:))
        #expect(events.map(\.offset) == [5], "a backwards run is not believed, nor anything after it")
    }

    // MARK: Through the store

    @Test func underLoadTheStoreWritesFarFewerRecordsThanEvents() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-ledger-batch")
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        let store = LogMessageStore(log: log)
        let before = log.nextOffset
        // As the broker records them: one call per delivery or acknowledgement, ten subscribers.
        let subscribers = (0..<10).map { PartyIdentity(jurisdiction: "jinshan", party: "grid-\($0)") }
        var sent: [LedgerEvent] = []
        for offset in 0..<500 as Range<UInt64> {
            for party in subscribers {
                let event = Self.event(.delivered, offset, party: party)
                sent.append(event)
                store.record([event], completion: nil)
            }
        }
        let acknowledged = Mutex(false)
        for party in subscribers {
            for offset in 0..<500 as Range<UInt64> {
                let event = Self.event(.acked, offset, party: party, at: 1_765_000_000_100 + Int64(offset / 50))
                sent.append(event)
                let last: @Sendable (BrokerError?) -> Void = { _ in acknowledged.withLock { $0 = true } }
                store.record([event], completion: party == subscribers.last && offset == 499 ? last : nil)
            }
        }
        try await eventually("the last acknowledgement's completion") { acknowledged.withLock { $0 } }
        let records = try Self.read(log, from: before)
        let read = records.flatMap(LedgerEvent.events(in:))
        #expect(read.count == sent.count, "every event is in the log once")
        for party in subscribers {
            #expect(read.filter { $0.party == party }.map(Keyed.init) == sent.filter { $0.party == party }.map(Keyed.init),
                    "\(party)'s events in the order they were recorded")
        }
        #expect(records.count * 20 < sent.count, "\(records.count) records for \(sent.count) events: batched")
        let bytes = records.reduce(0) { $0 + $1.size }
        #expect(bytes < sent.count * 16, "\(bytes) bytes for \(sent.count) events")
    }

    @Test func aDurabilityWaitCoversEveryEventRecordedBeforeItAcrossAReopen() throws {
        let directory = try TemporaryDirectory(prefix: "muster-ledger-durable")
        var log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        let store = LogMessageStore(log: log)
        // The first goes at once as a lazy batch (written within 20 ms); the rest queue behind it.
        let sent = (0..<300 as Range<UInt64>).map { Self.event($0 % 2 == 0 ? .delivered : .acked, $0 / 2) }
        for event in sent { store.record([event], completion: nil) }
        store.waitUntilDurable()
        // Closing writes whatever the log still queues: its end must not move, everything was
        // durable when the wait returned (and events never handed to the log would be missing).
        let durableHead = log.nextOffset
        log.close()
        log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        #expect(log.nextOffset == durableHead)
        let read = try Self.read(log, from: 0).flatMap(LedgerEvent.events(in:))
        #expect(read.map(Keyed.init) == sent.map(Keyed.init), "every event recorded before the wait, in order")
    }

    /// Appends `entries` to a fresh log and reads them back.
    static func stored(_ entries: [LogEntry]) throws -> [LogRecord] {
        let directory = try TemporaryDirectory(prefix: "muster-ledger-record")
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        let done = DispatchSemaphore(value: 0)
        for (index, entry) in entries.enumerated() {
            log.append(entry) { _ in if index == entries.count - 1 { done.signal() } }
        }
        done.wait()
        return try read(log, from: 0)
    }

    static func read(_ log: MessageLog, from offset: UInt64) throws -> [LogRecord] {
        log.waitUntilDurable()
        let cursor = log.cursor(from: offset)
        var records: [LogRecord] = []
        while true {
            let batch = try cursor.next()
            if batch.isEmpty { break }
            records += batch
        }
        return records.filter { $0.kind == .delivery }
    }
}

/// An event's fields, comparable.
private struct Keyed: Hashable {
    let kind: String, consumer: String, generation: UInt64, destination: String, offset: UInt64, party: String
    let subscription: String, count: Int, deliveredAt: Int64, at: Int64, reason: String?

    init(_ event: LedgerEvent) {
        kind = event.kind.rawValue
        consumer = event.consumer.text
        generation = event.generation
        destination = event.destination.description
        offset = event.offset
        party = event.party.description
        subscription = event.subscriptionID
        count = event.deliveryCount
        deliveredAt = event.deliveredAt
        at = event.at
        reason = event.reason
    }
}
