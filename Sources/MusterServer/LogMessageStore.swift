public import MusterBroker
public import MusterLog
import MusterStomp
import Foundation
import MusterFederation
import Synchronization
public import MusterProtocol

/// The broker's message store on the durable log: a publication becomes a log record, and
/// the broker hears of it (to route it and send the RECEIPT) only once the record is durable.
/// Delivery events become records too; consumers read messages back through cursors.
public final class LogMessageStore: MessageStore {
    public let log: MessageLog
    /// Open cursors by the offset they will read next, so a consumer reading on does not reopen files.
    private let cursors = CursorPool()
    /// Records one read looks at before it reports how far it got (bounds the time per read).
    static let scanLimit = 4096

    /// Newest messages in memory, so that consumers keeping up never read the log back.
    private let recent: RecentMessages
    /// Bodies kept in memory for consumers that keep up.
    public static let recentBytes = 16 << 20

    /// Delivery events waiting for the batch being written. Held while a batch is handed to the
    /// log: below `Broker.state` and `MessageLog.commitLock`, above `MessageLog.queue` (LockOrder.swift).
    private let ledger = Mutex(LedgerQueue())

    /// Where the records stamped for each federation peer are, for export streams.
    let exportIndex: SharedExportIndex

    public init(log: MessageLog) {
        self.log = log
        recent = RecentMessages(from: log.nextOffset, byteLimit: Self.recentBytes)
        exportIndex = SharedExportIndex(start: log.nextOffset)
        // After the completions of the records before `nextOffset` (which noted their stamps).
        _ = log.observeAppends { [recent, exportIndex] appended in
            recent.cover(through: appended.nextOffset)
            exportIndex.cover(through: appended.nextOffset)
        }
    }

    /// Lets go of the newest messages kept in memory (when the broker has gone quiet).
    func releaseRecentMessages() {
        recent.release()
    }

    public func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        append(publication, deferCommit: false, completion: completion)
    }

    public func append(_ publication: Publication, deferCommit: Bool,
                       completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        log.append(LogEntry(publication), deferred: deferCommit, sequence: publication.sequence.map(SequenceInLog.init)) { [recent, exportIndex] result in
            switch result {
            case .success(let appended):
                let message = StoredMessage(offset: appended.offset, timestamp: appended.timestamp, publication: publication)
                recent.add(message)
                ServerMetrics.messagesStored.increment()
                if let peers = publication.headers[FederationHeader.export] {
                    exportIndex.note(offset: appended.offset, exportedTo: peers, urgentFor: publication.headers[FederationHeader.exportUrgent])
                }
                completion(.success(message))
            case .failure(let error):
                completion(.failure(BrokerError(.storageFailure, "the message was not stored: \(error)")))
            }
        }
    }

    /// The export stamps of a record stored before the broker started (from the start-up scan).
    func noteExportStamps(ofStoredBeforeStart record: LogRecord) {
        guard record.kind == .message, let peers = record.header(FederationHeader.export) else { return }
        exportIndex.noteHistory(offset: record.offset, exportedTo: peers, urgentFor: record.header(FederationHeader.exportUrgent))
    }

    /// Delivery events are written a batch at a time (`LedgerQueue`): those that come while a
    /// batch is written go together in the next, a record per subscription. Without a completion
    /// (no ACK receipt waits) a batch rides on the next fdatasync: losing it in a crash only
    /// means its messages are delivered again.
    public func record(_ events: [LedgerEvent], completion: (@Sendable (BrokerError?) -> Void)?) {
        ServerMetrics.note(events)
        let completeNow = ledger.withLock { ledger -> Bool in
            switch ledger.add(events, completion: completion) {
            case .write(let batch): write(batch)
            case .queued: break
            case .completeNow: return true
            }
            return false
        }
        if completeNow { completion?(nil) }
    }

    /// Hands a batch to the log, under `ledger`'s lock so that batches reach the log in order.
    private func write(_ batch: LedgerQueue.Batch) {
        let entries = LogEntry.ledgerRecords(batch.events)
        let outcome = Mutex<(left: Int, failure: LogError?)>((entries.count, nil))
        for entry in entries {
            log.append(entry, sync: batch.needsSync) { [self] result in
                let (left, failure) = outcome.withLock { outcome in
                    if case .failure(let error) = result { outcome.failure = outcome.failure ?? error }
                    outcome.left -= 1
                    return outcome
                }
                guard left == 0 else { return }
                let error = failure.map { BrokerError(.storageFailure, "the delivery events were not recorded: \($0)") }
                // A refused append completes inside `append`, where `ledger`'s lock is held.
                if error != nil { DispatchQueue.global().async { self.written(batch.id, error) } } else { written(batch.id, nil) }
            }
        }
    }

    /// The log wrote a batch (in the writer's completions, in offset order; a failure from elsewhere).
    private func written(_ id: UInt64, _ failure: BrokerError?) {
        let completions = ledger.withLock { ledger in
            let (completions, next) = ledger.written(id, failure: failure)
            if let next { write(next) }
            return completions
        }
        for (completion, error) in completions { completion(error) }
    }

    /// Returns once every delivery event recorded before the call is durable.
    public func waitUntilDurable() {
        let written = DispatchSemaphore(value: 0)
        record([]) { _ in written.signal() }
        // Asking the log for durability writes the lazy batches now, not a window later. (A closed
        // log answers at once; its refusals reach the completions from another thread.)
        repeat { log.waitUntilDurable() } while written.wait(timeout: .now() + .milliseconds(1)) == .timedOut
    }

    public var nextOffset: UInt64 { log.nextOffset }

    public func commitPending() -> Bool {
        log.commitPending()
    }

    public func read(_ destination: Destination, from offset: UInt64, limit: Int) throws(BrokerError) -> (messages: [StoredMessage], scannedTo: UInt64) {
        if let kept = recent.read(destination, from: offset, limit: limit) { return kept }
        do throws(LogError) {
            // Only the destination's records are read where the log knows where they are.
            let (records, next) = try log.records(of: destination.description, from: offset, limit: limit, scanLimit: Self.scanLimit)
            return (records.compactMap { StoredMessage(record: $0) }, next)
        } catch {
            throw BrokerError(.storageFailure, "reading \(destination) from the log: \(error)")
        }
    }

    public func read(_ destination: Destination, offsets: [UInt64]) throws(BrokerError) -> [StoredMessage] {
        var messages: [StoredMessage] = []
        for offset in offsets {
            if let kept = recent.message(at: offset) {
                if let message = kept, message.destination == destination { messages.append(message) }
                continue
            }
            let cursor = takeCursor(at: offset)
            do throws(LogError) {
                if let record = try cursor.next(maxRecords: 1).first, record.offset == offset,
                   record.destination == destination.description, let message = StoredMessage(record: record) {
                    messages.append(message)
                }
            } catch {
                throw BrokerError(.storageFailure, "reading offset \(offset) of \(destination) from the log: \(error)")
            }
            putBack(cursor)
        }
        return messages
    }

    public func observeAppends(_ observer: @escaping @Sendable () -> Void) {
        // Delivery records give consumers nothing new to read.
        _ = log.observeAppends { appended in if appended.containsMessages { observer() } }
    }

    /// Every delivery event about the message at `offset` of `destination`, in log order, once
    /// the delivery records still queued (to ride on the next write) are durable. Reads only the
    /// destination's delivery records from that offset on.
    public func history(of destination: Destination, offset: UInt64) throws(BrokerError) -> [LedgerEvent] {
        waitUntilDurable()
        var events: [LedgerEvent] = []
        var next = offset
        do throws(LogError) {
            while true {
                let (records, after) = try log.records(of: destination.description, kind: .delivery, from: next, limit: 256)
                for record in records { events += LedgerEvent.events(in: record).filter { $0.offset == offset } }
                if records.isEmpty || after == next { break }
                next = after
            }
        } catch {
            throw BrokerError(.storageFailure, "reading the log: \(error)")
        }
        return events
    }

    private func takeCursor(at offset: UInt64) -> LogCursor {
        cursors.take(at: offset) ?? log.cursor(from: offset)
    }

    private func putBack(_ cursor: LogCursor) {
        cursors.put(cursor)
    }
}

/// A few idle cursors; each is used by one reader at a time (taken out, then put back).
private final class CursorPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [UInt64: LogCursor] = [:]

    func take(at offset: UInt64) -> LogCursor? {
        lock.withLock { idle.removeValue(forKey: offset) }
    }

    func put(_ cursor: LogCursor) {
        lock.withLock {
            if idle.count >= 64 { idle.removeAll(keepingCapacity: true) }
            idle[cursor.nextOffset] = cursor
        }
    }
}

extension LogEntry {
    /// A publication as a record: the sender travels as the first two headers.
    init(_ publication: Publication) {
        var headers: [LogHeader] = [
            LogHeader(ReservedHeader.sender, publication.sender.party),
            LogHeader(ReservedHeader.senderJurisdiction, publication.sender.jurisdiction),
        ]
        headers.reserveCapacity(publication.headers.count + 2)
        for (name, value) in publication.headers { headers.append(LogHeader(name, value)) }
        self.init(kind: .message, destination: publication.destination.description, headers: headers, body: publication.body)
    }
}

extension StoredMessage {
    /// A message record read back from the log; nil for a record that is not a message.
    public init?(record: LogRecord) {
        guard record.kind == .message, let destination = try? Destination(parsing: record.destination) else { return nil }
        var sender = PartyIdentity(jurisdiction: "", party: "")
        var headers = StompHeaders()
        for header in record.headers {
            switch header.name {
            case ReservedHeader.sender where sender.party.isEmpty:
                sender = PartyIdentity(jurisdiction: sender.jurisdiction, party: header.value)
            case ReservedHeader.senderJurisdiction where sender.jurisdiction.isEmpty:
                sender = PartyIdentity(jurisdiction: header.value, party: sender.party)
            default:
                headers.append(header.name, header.value)
            }
        }
        self.init(offset: record.offset, timestamp: record.timestamp,
                  publication: Publication(destination: destination, headers: headers, body: record.body, sender: sender))
    }
}

/// A broker's `StoreSequence` as the log's `AppendSequence`.
private struct SequenceInLog: AppendSequence {
    let sequence: StoreSequence
    var isBroken: Bool { sequence.isBroken }
    func markBroken() { sequence.markBroken() }
    var isUrgent: Bool { sequence.isUrgent }
}
