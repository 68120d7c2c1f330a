import Logging
import MusterBroker
import MusterLog
import MusterNet
import MusterStomp
import Synchronization
import MusterProtocol

/// A replay subscription's reader: pulls records from the log with a cursor and writes MESSAGE
/// frames while the client keeps up, so memory stays bounded however far behind it starts.
/// It pauses when the connection's outbound buffer is full, the prefetch window is closed, or
/// the log has nothing newer, and resumes when the buffer drains, an ACK arrives or records are
/// appended. Everything but `wake` runs on the connection's event loop.
final class ReplayStream: @unchecked Sendable {
    /// Stop queueing frames while this much is waiting for the socket.
    static let outboundHighWater = 256 * 1024
    private static let batchRecords = 64

    private(set) var state: ReplayState
    private let log: MessageLog
    private let cursor: LogCursor
    private let channel: TLSChannel
    private let logger: Logger
    private var buffered: [LogRecord] = []
    private var observer: UInt64?
    private let wakeScheduled = Atomic<Bool>(false)
    /// Set when the stream stopped because the outbound buffer was full.
    private(set) var waitingForDrain = false

    /// Called when the reader has read every durable record; returning true ends the stream
    /// (a lagging live subscriber that rejoined live delivery).
    private let caughtUp: ((UInt64) -> Bool)?

    init(state: ReplayState, log: MessageLog, startOffset: UInt64, channel: TLSChannel, logger: Logger,
         caughtUp: ((UInt64) -> Bool)? = nil) {
        self.caughtUp = caughtUp
        self.state = state
        self.log = log
        self.cursor = log.cursor(from: startOffset)
        self.channel = channel
        self.logger = logger
    }

    /// Starts reading (and listening for appends).
    func start() {
        observer = log.observeAppends { [weak self] _ in self?.wake() }
        pump()
    }

    func stop() {
        if let observer { log.removeObserver(observer) }
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
            if buffered.isEmpty {
                do {
                    buffered = try cursor.next(maxRecords: Self.batchRecords, maxBytes: Self.outboundHighWater)
                } catch {
                    fail(error)
                    return
                }
                buffered.reverse()  // consumed from the end
            }
            guard let record = buffered.popLast() else {
                if let caughtUp, caughtUp(cursor.nextOffset) {
                    stop()
                    return
                }
                if state.reachedHead(nextOffset: cursor.nextOffset, timestampFloor: log.timestampFloor()) { finish(at: cursor.nextOffset) }
                return
            }
            let wanted = record.kind == .message || (record.kind == .delivery && state.includeAcks)
            switch state.consider(offset: record.offset, timestamp: record.timestamp, destination: wanted ? record.destination : "") {
            case .skip:
                continue
            case .finish:
                finish(at: record.offset)
                return
            case .deliver(let ackID):
                let frame: StompFrame
                if record.kind == .delivery {
                    frame = Self.deliveryRecordFrame(record, subscriptionID: state.subscriptionID, ackID: ackID)
                } else {
                    guard let message = StoredMessage(record: record) else { continue }
                    frame = Delivery.messageFrame(message, subscriptionID: state.subscriptionID, ackID: ackID, deliveryCount: 1)
                }
                channel.withOutboundBuffer { StompFrameEncoder.encode(frame, into: &$0) }
            }
        }
    }

    /// A delivery record as a MESSAGE: `muster-record:delivery`, the event's headers, no body.
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
        return StompFrame(.message, headers: headers, body: [])
    }

    /// Re-checks a time bound whose end lies in the future (called on the connection's ticks).
    func tick() {
        if case .timestamp = state.end, !state.finished, buffered.isEmpty { pump() }
    }

    private func finish(at nextOffset: UInt64) {
        channel.withOutboundBuffer { StompFrameEncoder.encode(state.endMarker(nextOffset: nextOffset), into: &$0) }
        logger.debug("replay complete", metadata: ["subscription": "\(state.subscriptionID)", "delivered": "\(state.delivered)"])
        stop()
    }

    private func fail(_ error: LogError) {
        logger.error("replay stopped: \(error)")
        let refusal = BrokerError(.storageFailure, "the log cannot be read for subscription '\(state.subscriptionID)': \(error)")
        channel.withOutboundBuffer { StompFrameEncoder.encode(.error(refusal), into: &$0) }
        stop()
        channel.close()
    }
}
