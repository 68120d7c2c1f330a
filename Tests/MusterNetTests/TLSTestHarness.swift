import COpenSSL
import Foundation
import Glibc
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterNet

// A real TLS server and clients on 127.0.0.1, with certificates made for the test.
// Everything a delegate sees is recorded under a lock; tests wait for what they expect
// with `eventually`, never with a bare sleep.

/// What one side of one connection went through.
struct ChannelLog: Sendable {
    var opened = false
    var openedAt: ContinuousClock.Instant?
    /// The peer's verified certificate, as the channel reported it when it opened.
    var peerCertificate: PeerCertificate?
    /// The negotiated protocol ("TLSv1.3"), read from the channel's SSL when it opened.
    var protocolVersion: String?
    var received: [UInt8] = []
    var closed = false
    var closedAt: ContinuousClock.Instant?
    var closeError: String?
    /// The latest `channelTick` an open channel got.
    var lastTick: ContinuousClock.Instant?
    var handshakeError: TLSHandshakeError?
    /// Delegate calls that did not run on the channel's own event loop thread.
    var callsOffLoop = 0
    /// Delegate calls after `channelDidClose` (there must be none).
    var callsAfterClose = 0
}

/// A TLSChannelDelegate that records every event; a server-side recorder echoes what it reads.
/// One that `pausesReading` pauses its channel when it opens and after every read.
final class ChannelRecorder: TLSChannelDelegate, Sendable {
    let echo: Bool
    let pausesReading: Bool
    private let log = Mutex(ChannelLog())

    init(echo: Bool, pausesReading: Bool = false) {
        self.echo = echo
        self.pausesReading = pausesReading
    }

    var snapshot: ChannelLog { log.withLock { $0 } }

    func channelDidOpen(_ channel: TLSChannel) {
        let onLoop = channel.loop.inLoop
        let certificate = channel.peerCertificate
        let version = SSL_get_version(channel.ssl).map { String(cString: $0) }
        log.withLock { log in
            note(onLoop: onLoop, in: &log)
            log.opened = true
            log.openedAt = .now
            log.peerCertificate = certificate
            log.protocolVersion = version
        }
        if pausesReading { channel.pauseReading() }
    }

    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        let onLoop = channel.loop.inLoop
        let copy = [UInt8](bytes)
        log.withLock { log in
            note(onLoop: onLoop, in: &log)
            log.received.append(contentsOf: copy)
        }
        if echo { channel.write(copy) }
        if pausesReading { channel.pauseReading() }
    }

    func channelTick(_ channel: TLSChannel, now: ContinuousClock.Instant) {
        let onLoop = channel.loop.inLoop
        log.withLock { log in
            note(onLoop: onLoop, in: &log)
            log.lastTick = now
        }
    }

    func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        let onLoop = channel.loop.inLoop
        log.withLock { log in
            note(onLoop: onLoop, in: &log)
            log.closed = true
            log.closedAt = .now
            log.closeError = error.map { String(describing: $0) }
            log.handshakeError = error as? TLSHandshakeError
        }
    }

    private func note(onLoop: Bool, in log: inout ChannelLog) {
        if !onLoop { log.callsOffLoop += 1 }
        if log.closed { log.callsAfterClose += 1 }
    }
}

/// One side of a connection: the channel and what its delegate recorded.
struct Endpoint: Sendable {
    let channel: TLSChannel
    let recorder: ChannelRecorder
    /// When the listener accepted the socket (server side) or `connect` was called (client side).
    let startedAt: ContinuousClock.Instant

    var log: ChannelLog { recorder.snapshot }
}

/// Wraps each accepted descriptor in a server TLSChannel with an echoing recorder.
private final class Acceptor: Sendable {
    let context: TLSContext
    let group: EventLoopGroup
    let pinnedLoop: EventLoop?
    let handshakeTimeout: Duration?
    let sendBufferSize: Int32?
    let echo: Bool
    let pausesReading: Bool
    let accepted = Mutex<[Endpoint]>([])
    /// Errors from the listener or from wrapping an accepted socket.
    let errors = Mutex<[String]>([])

    init(context: TLSContext, group: EventLoopGroup, pinnedLoop: EventLoop?, handshakeTimeout: Duration?,
         sendBufferSize: Int32?, echo: Bool, pausesReading: Bool) {
        self.context = context
        self.echo = echo
        self.pausesReading = pausesReading
        self.sendBufferSize = sendBufferSize
        self.group = group
        self.pinnedLoop = pinnedLoop
        self.handshakeTimeout = handshakeTimeout
    }

    func record(_ error: any Error) {
        let text = String(describing: error)
        errors.withLock { $0.append(text) }
    }

    func accept(_ descriptor: Int32) {
        let recorder = ChannelRecorder(echo: echo, pausesReading: pausesReading)
        let startedAt = ContinuousClock.now
        if let sendBufferSize { shrinkSendBuffer(descriptor, to: sendBufferSize) }
        do {
            let channel = try TLSChannel.accept(descriptor: descriptor, context: context,
                                                loop: pinnedLoop ?? group.next(), delegate: recorder)
            if let handshakeTimeout { channel.handshakeTimeout = handshakeTimeout }
            accepted.withLock { $0.append(Endpoint(channel: channel, recorder: recorder, startedAt: startedAt)) }
            channel.start()
        } catch {
            Glibc.close(descriptor)
            record(error)
        }
    }
}

/// A TLS echo server on 127.0.0.1 (two event loops), its PKI, and the clients a test connects.
final class TLSTestHarness: Sendable {
    let directory: TemporaryDirectory
    let pki: TestPKI
    let group: EventLoopGroup
    let listener: TCPListener
    private let acceptor: Acceptor
    private let clients = Mutex<[Endpoint]>([])

    /// - Parameters:
    ///   - handshakeTimeout: set on every accepted channel before it starts (default: the channel's own).
    ///   - pinServerChannels: put every accepted channel on the first loop instead of spreading them.
    ///   - serverSendBuffer: shrink accepted sockets' send buffers to this many bytes.
    ///   - serverEchoes: whether accepted channels write back what they read.
    ///   - serverPausesReading: accepted channels pause reading when they open and after every read.
    init(handshakeTimeout: Duration? = nil, pinServerChannels: Bool = false, serverSendBuffer: Int32? = nil,
         serverEchoes: Bool = true, serverPausesReading: Bool = false) throws {
        Socket.ignoreBrokenPipeSignal()
        let directory = try TemporaryDirectory(prefix: "muster-tls-test")
        do {
            self.directory = directory
            pki = try TestPKI(in: directory.path)
            group = try EventLoopGroup(count: 2, namePrefix: "tls-test-loop")
            let context = try TLSContext(role: .server, configuration: pki.serverTLS)
            let acceptor = Acceptor(context: context, group: group,
                                    pinnedLoop: pinServerChannels ? group.loops[0] : nil,
                                    handshakeTimeout: handshakeTimeout, sendBufferSize: serverSendBuffer,
                                    echo: serverEchoes, pausesReading: serverPausesReading)
            self.acceptor = acceptor
            listener = try TCPListener(address: SocketAddress(host: "127.0.0.1", port: 0), loop: group.loops[0],
                                       onError: { error in acceptor.record(error) },
                                       onAccept: { descriptor in acceptor.accept(descriptor) })
        } catch {
            directory.remove()
            throw error
        }
    }

    var port: UInt16 { listener.boundPort }

    /// Server-side connections, in the order they were accepted.
    var servers: [Endpoint] { acceptor.accepted.withLock { $0 } }

    /// Errors from accepting or wrapping sockets (there should be none).
    var serverErrors: [String] { acceptor.errors.withLock { $0 } }

    /// A client identity from a trusted authority (Jinshan unless told otherwise).
    func clientTLS(_ party: String = "langxia-town", jurisdiction: String = "jinshan",
                   expired: Bool = false) throws -> TLSConfiguration {
        try pki.client(party, jurisdiction: jurisdiction, expired: expired).tls
    }

    /// A client that presents no certificate at all.
    var anonymousClientTLS: TLSConfiguration {
        TLSConfiguration(certificatePath: "", privateKeyPath: "", trustedAuthorityPaths: [pki.jinshanAuthority])
    }

    /// Connects a recording (non-echoing) client. `prepare` runs before `start()`, e.g. to write
    /// early or tune the socket.
    @discardableResult
    func connect(_ configuration: TLSConfiguration, serverName: String = "127.0.0.1",
                 handshakeTimeout: Duration? = nil, port: UInt16? = nil,
                 prepare: (TLSChannel) -> Void = { _ in }) throws -> Endpoint {
        let context = try TLSContext(role: .client, configuration: configuration)
        let recorder = ChannelRecorder(echo: false)
        let startedAt = ContinuousClock.now
        let channel = try TLSChannel.connect(to: SocketAddress(host: "127.0.0.1", port: port ?? self.port),
                                             context: context, loop: group.next(), serverName: serverName,
                                             delegate: recorder)
        if let handshakeTimeout { channel.handshakeTimeout = handshakeTimeout }
        let endpoint = Endpoint(channel: channel, recorder: recorder, startedAt: startedAt)
        clients.withLock { $0.append(endpoint) }
        prepare(channel)
        channel.start()
        return endpoint
    }

    /// Waits until exactly `count` connections were accepted and returns the newest.
    func acceptedServer(number count: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Endpoint {
        try await eventually("\(count) accepted connection(s)", sourceLocation: sourceLocation) { self.servers.count >= count }
        let accepted = servers
        #expect(accepted.count == count, "more connections were accepted than were made", sourceLocation: sourceLocation)
        return accepted[count - 1]
    }

    /// Closes every channel, the listener and the loops, and removes the certificates.
    func shutdown() async {
        let channels = clients.withLock { $0 } + servers
        for endpoint in channels { endpoint.channel.close(flush: false) }
        try? await eventually(timeout: .seconds(5), "channels closed during shutdown", recordIssue: false) {
            channels.allSatisfy { $0.recorder.snapshot.closed }
        }
        listener.close()
        // Let the listener's close run before the loops stop.
        let listenerClosed = Flag()
        listener.loop.execute { listenerClosed.set() }
        try? await eventually(timeout: .seconds(5), "listener closed", recordIssue: false) { listenerClosed.isSet }
        group.shutdown()
        directory.remove()
    }
}

/// Runs `body` with a fresh harness and always shuts it down afterwards.
func withTLSHarness(handshakeTimeout: Duration? = nil, pinServerChannels: Bool = false, serverSendBuffer: Int32? = nil,
                    serverEchoes: Bool = true, serverPausesReading: Bool = false,
                    _ body: (TLSTestHarness) async throws -> Void) async throws {
    let harness = try TLSTestHarness(handshakeTimeout: handshakeTimeout, pinServerChannels: pinServerChannels,
                                     serverSendBuffer: serverSendBuffer, serverEchoes: serverEchoes,
                                     serverPausesReading: serverPausesReading)
    do {
        try await body(harness)
    } catch {
        await harness.shutdown()
        throw error
    }
    #expect(harness.serverErrors.isEmpty, "listener/accept errors: \(harness.serverErrors)")
    await harness.shutdown()
}

/// A flag one thread raises and another polls.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// A plain blocking TCP socket (no TLS) connected to 127.0.0.1:`port`, for peers that misbehave.
final class RawTCPClient: Sendable {
    let descriptor: Int32

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError(call: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = SystemError(call: "connect", errno: errno)
            Glibc.close(descriptor)
            throw error
        }
    }

    deinit { Glibc.close(descriptor) }

    /// True once the other side has closed the connection (a read returns end of file or reset).
    var peerHasClosed: Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT))
        if count == 0 { return true }
        return count < 0 && errno != EAGAIN && errno != EWOULDBLOCK
    }
}

/// Expects two byte streams to be equal, reporting sizes and the first difference (a plain
/// `#expect(a == b)` would make the testing library diff megabytes element by element).
func expectSameBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    let same = actual == expected
    if same { return }
    var index = 0
    while index < min(actual.count, expected.count) && actual[index] == expected[index] { index += 1 }
    Issue.record("\(what): got \(actual.count) bytes, expected \(expected.count); first difference at offset \(index)",
                 sourceLocation: sourceLocation)
}

/// Deterministic pseudo-random bytes (xorshift), so reordered or duplicated chunks show.
func patternBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[index] = UInt8(truncatingIfNeeded: state >> 24)
    }
    return bytes
}

/// Shrinks a socket's send buffer so that large writes must go out in many partial steps.
/// (Only the send side: a receive buffer far below the loopback MSS makes Linux TCP stall on
/// its persist timer, which would measure the kernel, not the channel.)
func shrinkSendBuffer(_ descriptor: Int32, to size: Int32 = 4096) {
    var value = size
    _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size))
}
