internal import COpenSSL
import Glibc
import Synchronization

/// One TLS connection over a non-blocking socket, driven by its event loop.
///
/// All state is confined to the loop thread; `write` and `close` may be called from any
/// thread and hop onto the loop. Writes are coalesced: everything written during one loop
/// iteration goes out in as few `SSL_write` calls as possible at its end.
public final class TLSChannel: EventHandler, @unchecked Sendable {
    /// `draining`: our close_notify is sent and our side shut down; we read and discard
    /// until the peer closes too, so that the kernel never answers unread input with a
    /// reset that could destroy our last frames (an ERROR, a RECEIPT) before the peer reads them.
    enum State: Equatable { case connecting, handshaking, open, closing, draining, closed }

    public let loop: EventLoop
    public let descriptor: Int32
    public let remoteAddress: String
    public let role: TLSContext.Role
    /// The verified peer certificate, once the handshake is done.
    public private(set) var peerCertificate: PeerCertificate?
    public var delegate: (any TLSChannelDelegate)?
    /// Handshakes (and client connects) that take longer than this are abandoned.
    public var handshakeTimeout: Duration = .seconds(10)

    let ssl: OpaquePointer
    var state: State
    private let connectAddress: SocketAddress?
    var outbound: [UInt8] = []
    private var outboundOffset = 0
    private var flushScheduled = false
    var interest = (readable: false, writable: false)
    /// Set by `pauseReading`: the peer's bytes stay in the kernel until `resumeReading`.
    private(set) var readingPaused = false
    var deadline: ContinuousClock.Instant
    private var closeError: (any Error)?
    var closeNotifyPending = false
    /// Lock order: below a session's flow, above the loop's tasks (MusterServer/LockOrder.swift).
    private let staged = Mutex<(bytes: [UInt8], scheduled: Bool)>(([], false))
    let closedFlag = Atomic<Bool>(false)
    /// Bytes written (from any thread) and not yet accepted by the socket.
    private let backlog = Atomic<Int>(0)

    private init(descriptor: Int32, context: TLSContext, loop: EventLoop, state: State,
                 connectAddress: SocketAddress?, serverName: String?) throws {
        guard let ssl = SSL_new(context.context) else { throw OpenSSLError.drain("SSL_new") }
        self.ssl = ssl
        self.descriptor = descriptor
        self.loop = loop
        self.role = context.role
        self.state = state
        self.connectAddress = connectAddress
        self.remoteAddress = connectAddress?.description ?? Socket.peerDescription(descriptor)
        self.deadline = .now + .seconds(10)
        SSL_set_fd(ssl, descriptor)
        if context.role == .server {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let serverName {
                do {
                    try Self.requireServerName(serverName, on: ssl)
                } catch {
                    // deinit runs now; the caller closes the descriptor it created.
                    closedFlag.store(true, ordering: .relaxed)
                    throw error
                }
            }
        }
    }

    deinit {
        SSL_free(ssl)
        if !closedFlag.load(ordering: .relaxed) { Glibc.close(descriptor) }
    }

    /// Wraps an accepted socket; the handshake starts on `loop`.
    public static func accept(descriptor: Int32, context: TLSContext, loop: EventLoop,
                              delegate: any TLSChannelDelegate) throws -> TLSChannel {
        let channel = try TLSChannel(descriptor: descriptor, context: context, loop: loop, state: .handshaking,
                                     connectAddress: nil, serverName: nil)
        channel.delegate = delegate
        return channel
    }

    /// Starts connecting to `address`; `serverName` is the name or IP the server certificate must carry.
    public static func connect(to address: SocketAddress, context: TLSContext, loop: EventLoop,
                               serverName: String, delegate: any TLSChannelDelegate) throws -> TLSChannel {
        let descriptor = try Socket.startConnect(to: address)
        do {
            let channel = try TLSChannel(descriptor: descriptor, context: context, loop: loop, state: .connecting,
                                         connectAddress: address, serverName: serverName)
            channel.delegate = delegate
            return channel
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    /// Registers with the loop and begins; call once, from any thread.
    public func start() {
        loop.execute { [self] in
            deadline = .now + handshakeTimeout
            let writable = state == .connecting
            do {
                try loop.register(descriptor, handler: self, readable: !writable, writable: writable)
                interest = (!writable, writable)
            } catch {
                finishClose(error: error)
                return
            }
            if state == .handshaking { continueHandshake() }
        }
    }

    /// Queues bytes for sending; safe from any thread.
    public func write(_ bytes: [UInt8]) {
        write { $0.append(contentsOf: bytes) }
    }

    /// Queues what `encode` appends to the buffer it is handed, with no array of its own in
    /// between (a frame encoded for this connection is copied once less); safe from any
    /// thread. `encode` must only append; off the loop it runs under the staging lock.
    public func write(encoding encode: (inout [UInt8]) -> Void) {
        if loop.inLoop {
            withOutboundBuffer(encode)
            return
        }
        let schedule = staged.withLock { staged -> Bool in
            // Room for a few frames up front: growing from empty copied every frame again.
            if staged.bytes.isEmpty { staged.bytes.reserveCapacity(Self.stagingCapacity) }
            let before = staged.bytes.count
            encode(&staged.bytes)
            backlog.add(staged.bytes.count - before, ordering: .relaxed)
            defer { staged.scheduled = true }
            return !staged.scheduled
        }
        if schedule {
            loop.execute { [self] in
                let bytes = staged.withLock { staged -> [UInt8] in
                    staged.scheduled = false
                    defer { staged.bytes = [] }
                    return staged.bytes
                }
                appendOutbound(bytes)
            }
        }
    }

    private static let stagingCapacity = 16 << 10

    /// Moves what other threads staged into the outbound buffer now (loop thread only), ahead of
    /// whatever the loop writes next; the staging task already scheduled then finds nothing left.
    private func takeOverStagedBytes() {
        let earlier = staged.withLock { staged -> [UInt8] in
            guard !staged.bytes.isEmpty else { return [] }
            defer { staged.bytes = [] }
            return staged.bytes
        }
        if !earlier.isEmpty { appendOutbound(earlier) }
    }

    /// Appends to the outbound buffer directly (loop thread only), avoiding a copy. Bytes that
    /// another thread staged before go out first: they were written first (a RECEIPT the log
    /// writer staged must not be overtaken by a later one the loop writes itself).
    public func withOutboundBuffer(_ body: (inout [UInt8]) -> Void) {
        precondition(loop.inLoop)
        guard state != .closed, state != .draining else { return }
        takeOverStagedBytes()
        let before = outbound.count
        body(&outbound)
        backlog.add(outbound.count - before, ordering: .relaxed)
        scheduleFlush()
    }

    /// The outbound buffer's allocated size (loop thread only; what an idle connection keeps).
    var outboundCapacity: Int { outbound.capacity }

    /// Bytes queued but not yet accepted by the socket (loop thread only).
    public var pendingOutboundByteCount: Int { outbound.count - outboundOffset }

    /// Bytes written from any thread and not yet accepted by the socket (readable anywhere;
    /// a moment's writes may be in flight).
    public var approximateBacklog: Int { backlog.load(ordering: .relaxed) }

    /// Closes after sending what is queued (or at once with `flush: false`); safe from any thread.
    public func close(flush: Bool = true, error: (any Error)? = nil) {
        guard loop.inLoop else {
            loop.execute { [self] in close(flush: flush, error: error) }
            return
        }
        // What other threads wrote before the close (a RECEIPT the log writer staged) is sent too.
        if flush, state == .open { takeOverStagedBytes() }
        switch state {
        case .closed, .closing, .draining:
            return
        case .open where flush && pendingOutboundByteCount > 0:
            state = .closing
            closeError = error
            deadline = .now + .seconds(5)
        default:
            finishClose(error: error, orderly: true)
        }
    }

    public var isOpen: Bool { state == .open }

    /// Stops reading from the socket (loop thread only), so that a consumer that cannot keep
    /// up pushes back on its peer through TCP instead of growing a buffer.
    public func pauseReading() {
        precondition(loop.inLoop)
        guard !readingPaused else { return }
        readingPaused = true
        setInterest(readable: false, writable: interest.writable)
    }

    /// Reads what the socket holds now, without waiting for a readiness event (loop thread only):
    /// before judging a peer silent, since after a stall (the process stopped, the loop starved,
    /// an interrupted wait) the tick can come before the readiness of bytes that did arrive.
    public func readNow() {
        precondition(loop.inLoop)
        guard !readingPaused, state == .open || state == .closing else { return }
        readAvailable()
    }

    /// Reads again after `pauseReading` (loop thread only).
    public func resumeReading() {
        precondition(loop.inLoop)
        guard readingPaused else { return }
        readingPaused = false
        guard state == .open || state == .closing else { return }
        setInterest(readable: true, writable: interest.writable)
        readAvailable()  // OpenSSL may already hold decrypted bytes the socket will not signal again
    }

    // MARK: EventHandler

    public func handleReadiness(readable: Bool, writable: Bool, hangup: Bool) {
        switch state {
        case .connecting:
            finishConnect()
        case .handshaking:
            continueHandshake()
        case .open, .closing:
            if writable { flush() }
            if readable && !readingPaused {
                readAvailable()
                // A write that wanted to read first (TLS post-handshake traffic) can go on now.
                if pendingOutboundByteCount > 0 { flush() }
            }
        case .draining:
            if writable && closeNotifyPending { sendCloseNotify() }
            if readable { drain() }
        case .closed:
            break
        }
    }

    public func handleTick(now: ContinuousClock.Instant) {
        switch state {
        case .connecting, .handshaking:
            if now > deadline {
                finishClose(error: TLSHandshakeError(peer: remoteAddress, reason: "no handshake within \(handshakeTimeout)"))
            }
        case .closing:
            if now > deadline { finishClose(error: closeError) }
        case .draining:
            if now > deadline { release() }
        case .open:
            delegate?.channelTick(self, now: now)
        case .closed:
            break
        }
    }

    public func handleEndOfIteration() {
        flushScheduled = false
        if state == .open || state == .closing { flush() }
    }

    // MARK: Internals

    private func appendOutbound(_ bytes: [UInt8]) {
        guard state != .closed, state != .draining else { return }
        if outbound.isEmpty && outboundOffset == 0 {
            outbound = bytes  // nothing queued: take the array instead of copying it
        } else {
            outbound.append(contentsOf: bytes)
        }
        scheduleFlush()
    }

    private func scheduleFlush() {
        if !flushScheduled {
            flushScheduled = true
            loop.flushAtEndOfIteration(self)
        }
    }

    private func finishConnect() {
        do {
            try Socket.connectResult(descriptor, address: connectAddress!)
        } catch {
            finishClose(error: error)
            return
        }
        state = .handshaking
        continueHandshake()
    }

    func setInterest(readable: Bool, writable: Bool) {
        guard interest != (readable, writable), state != .closed else { return }
        interest = (readable, writable)
        do { try loop.modify(descriptor, readable: readable, writable: writable) } catch { finishClose(error: error) }
    }

    /// Sends the queued bytes until the socket would block.
    private func flush() {
        guard state == .open || state == .closing else { return }
        while outboundOffset < outbound.count {
            ERR_clear_error()
            var written = 0
            let chunk = min(outbound.count - outboundOffset, 1 << 18)
            let result = outbound.withUnsafeBytes { buffer in
                SSL_write_ex(ssl, buffer.baseAddress! + outboundOffset, chunk, &written)
            }
            if result == 1 {
                outboundOffset += written
                backlog.subtract(written, ordering: .relaxed)
                continue
            }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_WRITE:
                setInterest(readable: !readingPaused, writable: true)
                return
            case SSL_ERROR_WANT_READ:
                return
            default:
                finishClose(error: ioError(operation: "SSL_write", result: result))
                return
            }
        }
        let wroteSomething = outboundOffset > 0
        // An idle connection keeps at most a small buffer: a staged batch taken over whole (16 KiB
        // reserved) or a burst must not stay allocated for the connection's life.
        if outbound.capacity >= Self.stagingCapacity { outbound = [] } else { outbound.removeAll(keepingCapacity: true) }
        outboundOffset = 0
        setInterest(readable: !readingPaused, writable: false)
        if state == .closing {
            finishClose(error: closeError, orderly: true)
        } else if wroteSomething {
            delegate?.channelDidDrain(self)
        }
    }

    /// Reads and hands over decrypted bytes until the socket is drained (or a fairness budget is spent).
    private func readAvailable() {
        var budget = 32
        let buffer = loop.readBuffer
        while (state == .open || state == .closing) && !readingPaused {
            ERR_clear_error()
            var count = 0
            let result = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
            if result == 1 {
                delegate?.channel(self, didRead: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
                budget -= 1
                if budget == 0 {
                    // Let other connections run; come back for what OpenSSL or the socket still holds.
                    loop.execute { [self] in readAvailable() }
                    return
                }
                continue
            }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ:
                return
            case SSL_ERROR_WANT_WRITE:
                setInterest(readable: !readingPaused, writable: true)
                return
            case SSL_ERROR_ZERO_RETURN:
                finishClose(error: nil, orderly: true)
                return
            default:
                finishClose(error: ioError(operation: "SSL_read", result: result))
                return
            }
        }
    }

    func markOpen() {
        state = .open
        peerCertificate = PeerCertificate.read(from: ssl)
    }
}
