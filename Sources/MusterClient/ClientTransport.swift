import MusterNet
import MusterStomp
import Synchronization
import MusterProtocol

/// The client side of one connection: decodes frames on the event loop and hands them to
/// whoever awaits them (CONNECTED, receipts, subscription streams). Thread-safe.
final class ClientTransport: TLSChannelDelegate, @unchecked Sendable {
    typealias MessageContinuation = AsyncThrowingStream<ReceivedMessage, any Error>.Continuation

    private struct State {
        var connected: CheckedContinuation<StompFrame, any Error>?
        /// CONNECTED when it came before `awaitConnected` was waiting for it (the event loop
        /// can finish the handshake and the CONNECT exchange before the caller gets there).
        var earlyConnected: StompFrame?
        var receipts: [String: PendingReceipt] = [:]
        var subscriptions: [String: MessageContinuation] = [:]
        /// Set once: why the connection can no longer be used.
        var failure: MusterClientError?
        var refusal: MusterClientError?
        var opened = false
    }

    struct PendingReceipt {
        let continuation: CheckedContinuation<StompHeaders, any Error>
        let deadline: ContinuousClock.Instant
        let command: StompCommand
    }

    private let state = Mutex(State())
    /// How long a frame's RECEIPT may take before its sender is told it timed out.
    let receiptTimeout: Duration
    private var decoder = StompFrameDecoder()
    private var heartbeat: (send: Int, expect: Int) = (0, 0)
    private var lastRead = ContinuousClock.now
    private let lastWriteNanoseconds = Atomic<Int64>(0)
    private static let epoch = ContinuousClock.now
    private(set) var channel: TLSChannel!
    let connectFrame: StompFrame

    init(connectFrame: StompFrame, receiptTimeout: Duration) {
        self.connectFrame = connectFrame
        self.receiptTimeout = receiptTimeout
    }

    func attach(_ channel: TLSChannel) { self.channel = channel }

    /// Sends CONNECT after the handshake and waits for CONNECTED.
    func awaitConnected() async throws -> StompFrame {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Result<StompFrame, MusterClientError>? in
                if let frame = state.earlyConnected { return .success(frame) }
                if let failure = state.failure { return .failure(failure) }
                state.connected = continuation
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    func setHeartbeat(send: Int, expect: Int) {
        channel.loop.execute { [self] in heartbeat = (send, expect) }
    }

    /// Queues a frame; throws if the connection is already unusable.
    func send(_ frame: StompFrame) throws {
        if let failure = state.withLock({ $0.failure }) { throw failure }
        write(StompFrameEncoder.encode(frame))
    }

    /// Sends a frame carrying `receipt` and waits for the broker's RECEIPT.
    /// Returns the RECEIPT's headers (a workflow message's receipt names the id the broker assigned).
    @discardableResult
    func sendAwaitingReceipt(_ frame: StompFrame, receipt: String) async throws -> StompHeaders {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<StompHeaders, any Error>) in
            let failure = state.withLock { state -> MusterClientError? in
                if let failure = state.failure { return failure }
                state.receipts[receipt] = PendingReceipt(continuation: continuation, deadline: .now + receiptTimeout, command: frame.command)
                return nil
            }
            if let failure {
                continuation.resume(throwing: failure)
                return
            }
            write(StompFrameEncoder.encode(frame))
        }
    }

    /// The receipt-id prefix of the broker's end-of-replay marker.

    func register(subscription id: String, continuation: MessageContinuation) {
        let failure = state.withLock { state -> MusterClientError? in
            if let failure = state.failure { return failure }
            state.subscriptions[id] = continuation
            return nil
        }
        if let failure { continuation.finish(throwing: failure) }
    }

    func unregister(subscription id: String) {
        state.withLock { $0.subscriptions.removeValue(forKey: id) }?.finish()
    }

    func close() { channel.close() }

    /// The broker's certificate, as verified in the handshake.
    var peerCertificate: PeerCertificate? { channel.peerCertificate }

    private func write(_ bytes: [UInt8]) {
        lastWriteNanoseconds.store(Int64((ContinuousClock.now - Self.epoch) / .nanoseconds(1)), ordering: .relaxed)
        channel.write(bytes)
    }

    // MARK: TLSChannelDelegate

    func channelDidOpen(_ channel: TLSChannel) {
        state.withLock { $0.opened = true }
        write(StompFrameEncoder.encode(connectFrame))
    }

    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        lastRead = .now
        decoder.append(bytes)
        do {
            while let frame = try decoder.next() { dispatch(frame) }
        } catch {
            fail(.transport("the broker sent a malformed frame: \(error)"))
            channel.close(flush: false)
        }
    }

    func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        let opened = state.withLock { $0.opened }
        if let error {
            fail(opened && !(error is TLSHandshakeError) ? .closed("\(error)") : .transport("\(error)"))
        } else {
            fail(.closed("the broker closed the connection"))
        }
    }

    func channelTick(_ channel: TLSChannel, now: ContinuousClock.Instant) {
        let overdue = state.withLock { state -> [PendingReceipt] in
            let ids = state.receipts.filter { $0.value.deadline <= now }.keys
            return ids.compactMap { state.receipts.removeValue(forKey: $0) }
        }
        for receipt in overdue {
            receipt.continuation.resume(throwing: MusterClientError.timedOut("no RECEIPT for \(receipt.command.rawValue) within \(receiptTimeout)"))
        }
        if heartbeat.expect > 0, now - lastRead > .milliseconds(heartbeat.expect * 2) {
            fail(.closed("no heart-beat from the broker for \(heartbeat.expect * 2) ms"))
            channel.close(flush: false)
            return
        }
        let sinceWrite = Int64((now - Self.epoch) / .nanoseconds(1)) - lastWriteNanoseconds.load(ordering: .relaxed)
        // Half the interval, so a beat a tick late still arrives in time (see HeartbeatMonitor).
        if heartbeat.send > 0, sinceWrite * 2 >= Int64(heartbeat.send) * 1_000_000 {
            write(StompFrameEncoder.heartbeat)
        }
    }

    // MARK: Dispatch

    private func dispatch(_ frame: StompFrame) {
        switch frame.command {
        case .connected:
            state.withLock { state in
                defer { state.connected = nil }
                if state.connected == nil { state.earlyConnected = frame }
                return state.connected
            }?.resume(returning: frame)
        case .receipt:
            guard let id = frame.headers["receipt-id"] else { return }
            if id.hasPrefix(ReplayHeader.endMarkerPrefix) {
                // The end of a replay range: its subscription's stream ends normally.
                let subscription = String(id.dropFirst(ReplayHeader.endMarkerPrefix.count))
                state.withLock { $0.subscriptions.removeValue(forKey: subscription) }?.finish()
                return
            }
            state.withLock { $0.receipts.removeValue(forKey: id) }?.continuation.resume(returning: frame.headers)
        case .message:
            let id = frame.headers["subscription"] ?? ""
            _ = state.withLock { $0.subscriptions[id] }?.yield(ReceivedMessage(frame: frame))
        case .error:
            let refusal = MusterClientError.refused(code: frame.headers[ReservedHeader.errorCode],
                                                    message: frame.headers["message"] ?? "error",
                                                    detail: frame.bodyText)
            let waiting = state.withLock { state -> PendingReceipt? in
                state.refusal = refusal
                return frame.headers["receipt-id"].flatMap { state.receipts.removeValue(forKey: $0) }
            }
            waiting?.continuation.resume(throwing: refusal)
            fail(refusal)
        default:
            break
        }
    }

    /// Marks the connection unusable and fails everything that waits on it, once.
    private func fail(_ error: MusterClientError) {
        let (connected, receipts, subscriptions, failure) = state.withLock { state in
            if state.failure == nil { state.failure = state.refusal ?? error }
            defer {
                state.connected = nil
                state.receipts = [:]
                state.subscriptions = [:]
            }
            return (state.connected, Array(state.receipts.values), Array(state.subscriptions.values), state.failure!)
        }
        connected?.resume(throwing: failure)
        for receipt in receipts { receipt.continuation.resume(throwing: failure) }
        for subscription in subscriptions { subscription.finish(throwing: failure) }
    }
}
