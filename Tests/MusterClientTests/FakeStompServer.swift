import Foundation
import Glibc
import MusterClient
import MusterNet
import MusterStomp
import MusterTestSupport
import Synchronization
import Testing

/// A STOMP server on 127.0.0.1 over mutual TLS (MusterNet, a test PKI) that answers as the
/// test scripts it: the broker side of the client under test, with nothing of Muster's broker.
/// By default it answers CONNECT with CONNECTED (`connectedHeaders`) and every frame that asks
/// for a receipt with its RECEIPT; `respond` takes over for the frames it handles (returns true).
final class FakeStompServer: Sendable {
    typealias Responder = @Sendable (StompFrame, FakeConnection) -> Bool

    let directory: TemporaryDirectory
    let pki: TestPKI
    private let group: EventLoopGroup
    private let listener: TCPListener
    private let record = Record()

    /// What the listener accepted, and what went wrong accepting.
    private final class Record: Sendable {
        let connections = Mutex<[FakeConnection]>([])
        let errors = Mutex<[String]>([])
    }

    init(connectedHeaders: StompHeaders = ["version": "1.2", "heart-beat": "0,0", "server": "fake", "muster-party": "jinshan/langxia-town"],
         respond: @escaping Responder = { _, _ in false }) throws {
        Socket.ignoreBrokenPipeSignal()
        directory = try TemporaryDirectory(prefix: "muster-client-test")
        do {
            pki = try TestPKI(in: directory.path)
            group = try EventLoopGroup(count: 1, namePrefix: "fake-stomp-server")
            let context = try TLSContext(role: .server, configuration: pki.serverTLS)
            let loop = group.loops[0]
            let record = self.record
            listener = try TCPListener(address: SocketAddress(host: "127.0.0.1", port: 0), loop: loop,
                                       onError: { error in record.errors.withLock { $0.append("\(error)") } },
                                       onAccept: { descriptor in
                                           let connection = FakeConnection(connectedHeaders: connectedHeaders, respond: respond)
                                           do {
                                               let channel = try TLSChannel.accept(descriptor: descriptor, context: context, loop: loop,
                                                                                   delegate: connection)
                                               connection.attach(channel)
                                               record.connections.withLock { $0.append(connection) }
                                               channel.start()
                                           } catch {
                                               Glibc.close(descriptor)
                                               record.errors.withLock { $0.append("\(error)") }
                                           }
                                       })
        } catch {
            directory.remove()
            throw error
        }
    }

    var address: SocketAddress { SocketAddress(host: "127.0.0.1", port: listener.boundPort) }

    /// Connections in the order they were accepted.
    var connections: [FakeConnection] { record.connections.withLock { $0 } }

    /// Client options for a party of the test PKI (heart-beats off unless asked for).
    func options(party: String = "langxia-town", heartbeat: Int = 0, receiptTimeout: Duration = .seconds(60)) throws -> ClientOptions {
        let files = try pki.client(party)
        return ClientOptions(server: address, identity: ClientIdentity(certificatePath: files.certificate, privateKeyPath: files.key,
                                                                       trustedAuthorityPaths: [files.authority]),
                             heartbeatSend: heartbeat, heartbeatWant: heartbeat, connectTimeout: .seconds(10), receiptTimeout: receiptTimeout)
    }

    /// The one connection a test made (waiting for it to be accepted).
    func connection(sourceLocation: SourceLocation = #_sourceLocation) async throws -> FakeConnection {
        try await eventually("the client's connection", sourceLocation: sourceLocation) { !connections.isEmpty }
        return connections[0]
    }

    func shutdown() async {
        for connection in connections { connection.close() }
        listener.close()
        try? await eventually(timeout: .seconds(5), "the connections to close", recordIssue: false) { connections.allSatisfy(\.isClosed) }
        group.shutdown()
        directory.remove()
        let errors = record.errors.withLock { $0 }
        #expect(errors.isEmpty, "listener errors: \(errors)")
    }
}

/// Runs `body` against a fresh fake server and always shuts it down.
func withFakeServer(connectedHeaders: StompHeaders = ["version": "1.2", "heart-beat": "0,0", "server": "fake", "muster-party": "jinshan/langxia-town"],
                    respond: @escaping FakeStompServer.Responder = { _, _ in false },
                    _ body: (FakeStompServer) async throws -> Void) async throws {
    let server = try FakeStompServer(connectedHeaders: connectedHeaders, respond: respond)
    do {
        try await body(server)
    } catch {
        await server.shutdown()
        throw error
    }
    await server.shutdown()
}

/// The server side of one client connection: every frame the client sent, and the raw bytes
/// (heart-beat newlines included).
final class FakeConnection: TLSChannelDelegate, @unchecked Sendable {
    private struct State {
        var frames: [StompFrame] = []
        var bytes = 0
        var heartbeats = 0
        var closed = false
    }

    private let connectedHeaders: StompHeaders
    private let respond: FakeStompServer.Responder
    private let state = Mutex(State())
    /// Touched on the loop thread only.
    private var decoder = StompFrameDecoder()
    private var channel: TLSChannel?

    init(connectedHeaders: StompHeaders, respond: @escaping FakeStompServer.Responder) {
        self.connectedHeaders = connectedHeaders
        self.respond = respond
    }

    func attach(_ channel: TLSChannel) { self.channel = channel }

    var frames: [StompFrame] { state.withLock { $0.frames } }

    /// The frames of one command.
    func frames(_ command: StompCommand) -> [StompFrame] { frames.filter { $0.command == command } }

    /// Heart-beat newlines received between frames.
    var heartbeats: Int { state.withLock { $0.heartbeats } }

    var isClosed: Bool { state.withLock { $0.closed } }

    func send(_ frame: StompFrame) { write(StompFrameEncoder.encode(frame)) }

    /// Writes bytes as they are (a malformed frame, a heart-beat).
    func write(_ bytes: [UInt8]) {
        guard let channel else { return }
        channel.loop.execute { channel.write(bytes) }
    }

    func close() {
        guard let channel else { return }
        channel.loop.execute { channel.close() }
    }

    /// A MESSAGE for `subscription`, as a broker would send it.
    func deliver(_ body: String, subscription: String, destination: String = "/queue/work", headers: StompHeaders = [:]) {
        var frameHeaders: StompHeaders = ["subscription": subscription, "destination": destination, "message-id": "m-\(UUID().uuidString.prefix(8))"]
        for (name, value) in headers { frameHeaders[name] = value }
        send(StompFrame(.message, headers: frameHeaders, text: body))
    }

    // MARK: TLSChannelDelegate (loop thread)

    func channelDidOpen(_ channel: TLSChannel) {}

    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        let newlines = bytes.prefix { $0 == 0x0A || $0 == 0x0D }.count
        decoder.append(bytes)
        var received: [StompFrame] = []
        while let frame = try? decoder.next() { received.append(frame) }
        state.withLock { state in
            state.bytes += bytes.count
            // A read of nothing but newlines is a heart-beat (frames end in NUL, not a newline).
            if received.isEmpty && newlines == bytes.count { state.heartbeats += 1 }
            state.frames += received
        }
        for frame in received {
            if respond(frame, self) { continue }
            switch frame.command {
            case .connect, .stomp:
                send(StompFrame(.connected, headers: connectedHeaders))
            default:
                if let receipt = frame.headers["receipt"] { send(StompFrame(.receipt, headers: ["receipt-id": receipt])) }
            }
        }
    }

    func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        state.withLock { $0.closed = true }
    }
}
