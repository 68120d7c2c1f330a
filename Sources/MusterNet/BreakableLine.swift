import Foundation
import Glibc
import Synchronization

/// A loopback TCP proxy that stands for the network between two parties (a client and a broker,
/// or two brokers) and breaks it on command (the tests' failures, and the border line of
/// `muster demo --federated`): `cut()` resets every connection (TCP RST, as a
/// crashed router or a killed NAT entry does), `blackhole()` silently drops every byte both ways
/// while the connections stay open (only heart-beats notice), `pass()` forwards again, and
/// `flap(every:)` cuts again and again. New connections are accepted in every mode.
public final class BreakableLine: Sendable {
    public enum Mode: Sendable { case passing, blackholed }

    /// Where clients connect (127.0.0.1, a free port).
    public let address: SocketAddress
    private let control = ProxyControl()

    /// Starts forwarding connections made to `address` to `target`.
    public init(to target: SocketAddress) throws {
        let listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
        address = SocketAddress(host: "127.0.0.1", port: try Socket.localPort(listener))
        control.state.withLock { $0.target = target }
        let thread = Thread { [control] in
            var pump = ProxyPump(listener: listener)
            pump.run(control)
            control.finished.store(true, ordering: .releasing)
        }
        thread.name = "breakable-line"
        thread.start()
    }

    /// Forwards again (and stops flapping).
    public func pass() {
        control.state.withLock { state in
            state.mode = .passing
            state.flapEvery = nil
        }
    }

    public func blackhole() { control.state.withLock { $0.mode = .blackholed } }

    /// Forwards new connections to `target` from now on (a restarted broker listens elsewhere).
    public func retarget(_ target: SocketAddress) { control.state.withLock { $0.target = target } }

    /// Resets every open connection (RST both ways); returns once it is done.
    public func cut() async throws {
        let target = control.state.withLock { state in
            state.cutsRequested += 1
            return state.cutsRequested
        }
        while control.state.withLock({ $0.cutsDone < target }) {
            if control.finished.load(ordering: .acquiring) { throw SystemError(call: "cut", errno: ECANCELED) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Cuts every `interval` (on the proxy's own thread) until `pass()`.
    public func flap(every interval: Duration) {
        control.state.withLock { $0.flapEvery = interval }
    }

    public var mode: Mode { control.state.withLock { $0.mode } }
    /// Connections accepted so far.
    public var connectionsAccepted: Int { control.state.withLock { $0.accepted } }
    public var cuts: Int { control.state.withLock { $0.cutsDone } }
    /// Bytes a blackhole swallowed so far.
    public var bytesDropped: Int { control.state.withLock { $0.bytesDropped } }

    /// Resets every connection and closes the listening socket.
    public func stop() {
        control.state.withLock { $0.stopped = true }
        while !control.finished.load(ordering: .acquiring) { usleep(1_000) }
    }

    deinit { control.state.withLock { $0.stopped = true } }
}

/// What the proxy's commands and its thread share.
private final class ProxyControl: Sendable {
    let state = Mutex(ProxyState())
    let finished = Atomic<Bool>(false)
}

private struct ProxyState {
    var mode = BreakableLine.Mode.passing
    var cutsRequested = 0
    var cutsDone = 0
    var accepted = 0
    var bytesDropped = 0
    var flapEvery: Duration?
    var stopped = false
    var target = SocketAddress(host: "127.0.0.1", port: 0)
}

/// The proxy's one thread: accepts, connects to the target, forwards (or drops) bytes, and
/// applies the commands between polls.
private struct ProxyPump {
    struct Pair {
        let client: Int32
        let server: Int32
        var toServer: [UInt8] = []
        var toClient: [UInt8] = []
        var closed = false
    }

    let listener: Int32
    var pairs: [Pair] = []
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    var lastFlap = ContinuousClock.now

    init(listener: Int32) {
        self.listener = listener
    }

    mutating func run(_ control: ProxyControl) {
        while true {
            let now = ContinuousClock.now
            let (cutsPending, stopped) = control.state.withLock { state in
                if let interval = state.flapEvery, now - lastFlap >= interval {
                    lastFlap = now
                    state.cutsRequested += 1
                }
                return (state.cutsRequested - state.cutsDone, state.stopped)
            }
            if stopped || cutsPending > 0 {
                for pair in pairs { Self.reset(pair.client); Self.reset(pair.server) }
                pairs = []
                if stopped { Glibc.close(listener); return }
                control.state.withLock { $0.cutsDone += cutsPending }
            }
            var descriptors = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for pair in pairs {
                descriptors.append(pollfd(fd: pair.client, events: Int16(pair.toServer.isEmpty ? POLLIN : 0) | Int16(pair.toClient.isEmpty ? 0 : POLLOUT), revents: 0))
                descriptors.append(pollfd(fd: pair.server, events: Int16(pair.toClient.isEmpty ? POLLIN : 0) | Int16(pair.toServer.isEmpty ? 0 : POLLOUT), revents: 0))
            }
            // A short timeout, so that commands apply promptly.
            guard poll(&descriptors, nfds_t(descriptors.count), 20) >= 0 || errno == EINTR else { continue }
            for index in pairs.indices {
                let client = descriptors[1 + 2 * index].revents, server = descriptors[2 + 2 * index].revents
                var pair = pairs[index]
                // The mode is read after each read: bytes sent after pass() returned are never dropped.
                let dropped = forward(&pair, clientEvents: client, serverEvents: server) { control.state.withLock { $0.mode } }
                pairs[index] = pair
                if dropped > 0 { control.state.withLock { $0.bytesDropped += dropped } }
            }
            pairs.removeAll { $0.closed }
            if descriptors[0].revents & Int16(POLLIN) != 0, let client = try? Socket.accept(listener) {
                control.state.withLock { $0.accepted += 1 }
                if let server = connectToTarget(control.state.withLock { $0.target }) { pairs.append(Pair(client: client, server: server)) } else { Self.reset(client) }
            }
        }
    }

    /// Connects to the target (on loopback, at once or not at all).
    func connectToTarget(_ target: SocketAddress) -> Int32? {
        guard let server = try? Socket.startConnect(to: target) else { return nil }
        var descriptor = pollfd(fd: server, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, 2_000) == 1, (try? Socket.connectResult(server, address: target)) != nil else {
            Glibc.close(server)
            return nil
        }
        return server
    }

    /// Moves what is readable and writable; returns how many bytes a blackhole dropped.
    mutating func forward(_ pair: inout Pair, clientEvents: Int16, serverEvents: Int16, mode: () -> BreakableLine.Mode) -> Int {
        let readable = Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)
        var dropped = 0
        for (events, source, isClient) in [(clientEvents, pair.client, true), (serverEvents, pair.server, false)] where events & readable != 0 {
            guard let bytes = receive(from: source) else {
                close(&pair)
                return dropped
            }
            if mode() == .blackholed {
                dropped += bytes.count
            } else if isClient {
                pair.toServer.append(contentsOf: bytes)
            } else {
                pair.toClient.append(contentsOf: bytes)
            }
        }
        if !flush(&pair.toServer, to: pair.server) || !flush(&pair.toClient, to: pair.client) { close(&pair) }
        return dropped
    }

    /// Reads what is there (nothing if it would block); nil when the connection ended.
    mutating func receive(from descriptor: Int32) -> ArraySlice<UInt8>? {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count == 0 { return nil }
        if count < 0 { return errno == EAGAIN || errno == EINTR ? [] : nil }
        return buffer[0..<count]
    }

    func flush(_ pending: inout [UInt8], to descriptor: Int32) -> Bool {
        guard !pending.isEmpty else { return true }
        let count = pending.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if count < 0 { return errno == EAGAIN || errno == EINTR }
        pending.removeFirst(count)
        return true
    }

    /// One side ended or failed: end the other side the same way (orderly close).
    func close(_ pair: inout Pair) {
        Glibc.close(pair.client)
        Glibc.close(pair.server)
        pair.closed = true
    }

    /// Closes with a TCP RST (SO_LINGER 0).
    static func reset(_ descriptor: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(descriptor)
    }
}
