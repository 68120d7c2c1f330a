import Dispatch
import Logging
import MusterBroker
import MusterFederation
import MusterLog
import MusterNet
import MusterStomp
import Synchronization
import MusterProtocol

/// A replay subscription's reader (or a lagging live subscriber's): pulls records from the log
/// with a cursor and writes MESSAGE frames while the client keeps up, so memory stays bounded
/// however far behind it starts. It pauses when the connection's outbound buffer is full, the
/// prefetch window is closed, or the log has nothing newer, and resumes when the buffer drains,
/// an ACK arrives or records are appended. The disk is read on a reader thread, one batch at a
/// time; everything else runs on the connection's event loop (`wake` on any thread).
final class ReplayStream: @unchecked Sendable {
    /// Stop queueing frames while this much is waiting for the socket.
    static let outboundHighWater = 256 * 1024
    private static let batchRecords = 64
    /// Where replays read the disk, off the event loops; each stream has at most one read in flight.
    private static let readers = DispatchQueue(label: "muster-replay-readers", qos: .userInitiated, attributes: .concurrent)

    private(set) var state: ReplayState
    private let history: any MessageHistory
    /// Used on a reader thread only, by one read at a time.
    private let cursor: LogCursor
    private let channel: TLSChannel
    /// The connection's STOMP version, which decides how headers are written.
    private let version: StompVersion
    private let logger: Logger
    private var buffered: [LogRecord] = []
    private var reading = false
    /// Set when a read found nothing newer: where the log ended then, and its timestamp floor.
    private var readEnd: (nextOffset: UInt64, timestampFloor: Int64?)?
    /// Counts appends, so that a read that raced one reads again instead of waiting.
    private let appends = Atomic<UInt64>(0)
    private var observer: UInt64?
    private let wakeScheduled = Atomic<Bool>(false)
    /// Set when the stream stopped because the outbound buffer was full.
    private(set) var waitingForDrain = false

    /// Called when the reader has read every durable record; returning true ends the stream
    /// (a lagging live subscriber that rejoined live delivery).
    private let caughtUp: ((UInt64) -> Bool)?
    /// Set for a peer broker's export stream (one lane of it): records are selected by their export stamps.
    private let export: (service: ExportService, peer: String, lane: LinkLane)?
    var exportPeer: (peer: String, lane: LinkLane)? { export.map { ($0.peer, $0.lane) } }
    /// For an export stream: when to record how far the peer has acknowledged (loop thread only).
    var acknowledgementEvidence: AcknowledgementEvidence?

    init(state: ReplayState, history: any MessageHistory, startOffset: UInt64, channel: TLSChannel, version: StompVersion = .v1_2,
         logger: Logger, caughtUp: ((UInt64) -> Bool)? = nil, export: (service: ExportService, peer: String, lane: LinkLane)? = nil) {
        self.version = version
        self.export = export
        self.caughtUp = caughtUp
        self.state = state
        self.history = history
        self.cursor = history.cursor(from: startOffset)
        self.channel = channel
        self.logger = logger
    }

    /// Starts reading (and listening for appends).
    func start() {
        observer = history.watchAppends { [weak self] in
            guard let self else { return }
            appends.add(1, ordering: .relaxed)
            wake()
        }
        pump()
    }

    func stop() {
        if let observer { history.stopWatching(observer) }
        observer = nil
        buffered = []
    }

    /// Asks for a pump on the loop thread, at most one pending at a time; safe from any thread.
    func wake() {
        guard !wakeScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        channel.loop.execute { [self] in
            wakeScheduled.store(false, ordering: .releasing)
            pump()
        }
    }

    func acknowledge(_ ackID: String) throws(BrokerError) {
        try state.acknowledge(ackID)
        if let export, let through = state.acknowledgedThrough {
            export.service.index.acknowledged(ExportIndex.Lane(peer: export.peer, lane: export.lane), through: through)
        }
        pump()
    }

    /// Sends what the client can take now.
    func pump() {
        waitingForDrain = false
        guard observer != nil, channel.isOpen else { return }
        while state.wantsMore {
            guard channel.pendingOutboundByteCount < Self.outboundHighWater else {
                waitingForDrain = true
                return
            }
            guard let record = buffered.popLast() else {
                guard let end = readEnd else {
                    read()
                    return
                }
                readEnd = nil
                if let caughtUp, caughtUp(end.nextOffset) {
                    stop()
                    return
                }
                if state.reachedHead(nextOffset: end.nextOffset, timestampFloor: end.timestampFloor) { finish(at: end.nextOffset) }
                return
            }
            switch consider(record) {
            case .skip:
                continue
            case .finish:
                finish(at: record.offset)
                return
            case .deliver(let ackID):
                let frame: StompFrame
                if let export {
                    guard let exported = export.service.frame(record, subscriptionID: state.subscriptionID, ackID: ackID,
                                                              head: history.nextOffset) else { continue }
                    frame = exported
                } else if record.kind == .delivery {
                    frame = Self.deliveryRecordFrame(record, subscriptionID: state.subscriptionID, ackID: ackID)
                } else {
                    guard let message = StoredMessage(record: record) else { continue }
                    frame = Delivery.messageFrame(message, subscriptionID: state.subscriptionID, ackID: ackID, deliveryCount: 1)
                }
                ServerMetrics.framesSent[frame.command]?.increment()
                channel.withOutboundBuffer { StompFrameEncoder.encode(frame, version: version, into: &$0) }
            }
        }
    }

    private func consider(_ record: LogRecord) -> ReplayState.Step {
        if let export {
            return state.consider(offset: record.offset, timestamp: record.timestamp, selected: ExportService.selects(record, for: export.peer, in: export.lane))
        }
        let wanted = record.kind == .message || (record.kind == .delivery && state.includeAcks)
        return state.consider(offset: record.offset, timestamp: record.timestamp, destination: wanted ? record.destination : "")
    }

    /// Reads the next batch on a reader thread and pumps it on the loop.
    private func read() {
        guard !reading else { return }
        reading = true
        let appendsBefore = appends.load(ordering: .relaxed)
        Self.readers.async { [self] in
            let result = Result { () throws(LogError) in try nextBatch() }
            let end = (nextOffset: cursor.nextOffset, timestampFloor: history.timestampFloor())
            let skipped = cursor.skippedPrunedRecords
            channel.loop.execute { [self] in
                reading = false
                guard observer != nil else { return }
                // A link must never skip silently: the peer subscribes again and is told of the gap then.
                if skipped, let export {
                    return endExport("records for \(export.peer) were pruned by retention while this link read them; subscribe again from the last record taken")
                }
                switch result {
                case .failure(let error):
                    fail(error)
                case .success(let batch) where batch.records.isEmpty && !batch.atEnd:
                    read()
                case .success(let batch) where batch.records.isEmpty:
                    // An append during the read may not be in it: read again rather than wait for the next.
                    if appends.load(ordering: .relaxed) != appendsBefore { return read() }
                    readEnd = end
                    pump()
                case .success(let batch):
                    buffered = batch.records.reversed()  // consumed from the end
                    pump()
                }
            }
        }
    }

    /// The next records to consider (on a reader thread), and whether the read reached the log's
    /// end. An export stream jumps, by the export index, over records not for its peer and lane;
    /// where the index does not cover the log (below what a lane acknowledged or forgot), it
    /// drops them here, reading on until it has some or has scanned `exportScanLimit`: a sparse
    /// stream (the urgent lane through a backlog of bulk records) then costs no hop to the event
    /// loop per batch it skips.
    private func nextBatch() throws(LogError) -> (records: [LogRecord], atEnd: Bool) {
        guard let export else {
            // Only the destination's records are read (the log's position lists say where they are).
            let (records, next) = try history.records(of: state.destination, includingAcks: state.includeAcks,
                                                      from: cursor.nextOffset, limit: Self.batchRecords, maxBytes: Self.outboundHighWater)
            cursor.seek(to: next)
            return (records, records.isEmpty)
        }
        let lane = ExportIndex.Lane(peer: export.peer, lane: export.lane)
        var scanned = 0
        while true {
            var limit = 1024
            switch export.service.index.next(for: lane, from: cursor.nextOffset) {
            case .skip(let next):
                cursor.seek(to: next)
            case .read(let range):
                if range.lowerBound > cursor.nextOffset { cursor.seek(to: range.lowerBound) }
                limit = Int(min(1024, range.upperBound - range.lowerBound + 1))
            case .scan:
                break
            }
            let records = try cursor.next(maxRecords: limit, maxBytes: 4 << 20)
            let selected = records.filter { ExportService.selects($0, for: export.peer, in: export.lane) }
            scanned += records.count
            if !selected.isEmpty || records.isEmpty || cursor.skippedPrunedRecords || scanned >= Self.exportScanLimit {
                return (selected, records.isEmpty)
            }
        }
    }

    /// Records an export stream skips on the reader thread before it lets the loop look again
    /// (so that a closed connection stops a long scan).
    private static let exportScanLimit = 262_144

    /// A delivery record as a MESSAGE: `muster-record:delivery` and the record's headers; a
    /// batch record's body is its lines of events (Schemas/log-format.md section 7), a
    /// single-form record has none. One frame per record, like every other record replayed.
    static func deliveryRecordFrame(_ record: LogRecord, subscriptionID: String, ackID: String?) -> StompFrame {
        var headers: StompHeaders = [
            "subscription": subscriptionID,
            "message-id": "d-\(record.offset)",
            "destination": record.destination,
        ]
        if let ackID { headers.append("ack", ackID) }
        headers.append(ReplayHeader.record, "delivery")
        headers.append(ReservedHeader.timestamp, String(record.timestamp))
        headers.append(ReplayRequest.startHeader, String(record.offset))
        for header in record.headers { headers.append(header.name, header.value) }
        return StompFrame(.message, headers: headers, body: record.body)
    }

    /// Re-checks a time bound whose end lies in the future (called on the connection's ticks).
    func tick() {
        if case .timestamp = state.end, !state.finished, buffered.isEmpty { pump() }
    }

    private func finish(at nextOffset: UInt64) {
        channel.withOutboundBuffer { StompFrameEncoder.encode(state.endMarker(nextOffset: nextOffset), version: version, into: &$0) }
        logger.debug("replay complete", metadata: ["subscription": "\(state.subscriptionID)", "delivered": "\(state.delivered)"])
        stop()
    }

    private func endExport(_ reason: String) {
        logger.error("export stream ended: \(reason)")
        channel.withOutboundBuffer { StompFrameEncoder.encode(.error(BrokerError(.storageFailure, reason)), version: version, into: &$0) }
        stop()
        channel.close()
    }

    private func fail(_ error: LogError) {
        logger.error("replay stopped: \(error)")
        let refusal = BrokerError(.storageFailure, "the log cannot be read for subscription '\(state.subscriptionID)': \(error)")
        channel.withOutboundBuffer { StompFrameEncoder.encode(.error(refusal), version: version, into: &$0) }
        stop()
        channel.close()
    }
}
