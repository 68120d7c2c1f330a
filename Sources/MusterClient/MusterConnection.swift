public import Foundation
public import MusterNet
public import MusterStomp
import Synchronization
import MusterProtocol

/// A connection to a Muster broker (or any STOMP 1.2 broker) over mutual TLS.
///
/// ```swift
/// let connection = try await MusterConnection.connect(options)
/// let inbox = try await connection.subscribe(to: "/queue/inbox.langxia-town", ack: .clientIndividual)
/// try await connection.publish(to: "/topic/notices", body: Array("…".utf8), receipt: true)
/// for try await message in inbox { try await connection.ack(message) }
/// ```
public final class MusterConnection: Sendable {
    public enum AckMode: String, Sendable { case auto, client, clientIndividual = "client-individual" }

    /// The CONNECTED frame's headers (version, session, server, heart-beat, muster-party).
    public let connectedHeaders: StompHeaders
    private let transport: ClientTransport
    private let counter = Atomic<UInt64>(1)

    private init(transport: ClientTransport, connected: StompFrame) {
        self.transport = transport
        self.connectedHeaders = connected.headers
    }

    /// Connects, completes the TLS handshake and the STOMP CONNECT exchange.
    public static func connect(_ options: ClientOptions, extraHeaders: StompHeaders = [:]) async throws -> MusterConnection {
        let context: TLSContext
        do { context = try TLSContext(role: .client, configuration: options.tlsConfiguration) } catch {
            throw MusterClientError.transport("\(error)")
        }
        var headers: StompHeaders = [
            "accept-version": "1.2",
            "host": options.serverName,
            "heart-beat": "\(options.heartbeatSend),\(options.heartbeatWant)",
        ]
        for (name, value) in extraHeaders { headers[name] = value }
        let transport = ClientTransport(connectFrame: StompFrame(.connect, headers: headers), receiptTimeout: options.receiptTimeout)
        do {
            let channel = try TLSChannel.connect(to: options.server, context: context, loop: ClientEventLoop.shared,
                                                 serverName: options.serverName, delegate: transport)
            channel.handshakeTimeout = options.connectTimeout
            transport.attach(channel)
            channel.start()
        } catch {
            throw MusterClientError.transport("\(error)")
        }
        let connected = try await transport.awaitConnected()
        if let text = connected.headers["heart-beat"], let agreed = Self.parseHeartbeat(text) {
            // The server's "sx,sy": it sends every sx and wants every sy (0 = off).
            let send = options.heartbeatSend == 0 || agreed.want == 0 ? 0 : max(options.heartbeatSend, agreed.want)
            let expect = options.heartbeatWant == 0 || agreed.send == 0 ? 0 : max(options.heartbeatWant, agreed.send)
            transport.setHeartbeat(send: send, expect: expect)
        }
        return MusterConnection(transport: transport, connected: connected)
    }

    /// The party the broker identified from the client certificate (`muster://J/P`).
    public var party: String? { connectedHeaders[ReservedHeader.party] }

    /// The broker's certificate, as verified in the TLS handshake.
    public var peerCertificate: PeerCertificate? { transport.peerCertificate }

    /// Closes the connection at once, without DISCONNECT (a client giving up on it).
    public func close() { transport.close() }

    /// Publishes a message. With `receipt`, returns only after the broker confirmed it.
    public func publish(to destination: String, body: [UInt8], headers: StompHeaders = [:],
                        receipt: Bool = false, transaction: String? = nil) async throws {
        var frameHeaders = headers
        frameHeaders["destination"] = destination
        if let transaction { frameHeaders["transaction"] = transaction }
        try await send(StompFrame(.send, headers: frameHeaders, body: body), awaitingReceipt: receipt)
    }

    public func publish(to destination: String, text: String, headers: StompHeaders = [:],
                        receipt: Bool = false, transaction: String? = nil) async throws {
        try await publish(to: destination, body: Array(text.utf8), headers: headers, receipt: receipt, transaction: transaction)
    }

    /// Subscribes and waits until the broker has accepted the subscription.
    public func subscribe(to destination: String, ack: AckMode = .auto, id: String? = nil,
                          headers: StompHeaders = [:]) async throws -> MessageSubscription {
        let id = id ?? "sub-\(next())"
        var frameHeaders = headers
        frameHeaders["destination"] = destination
        frameHeaders["id"] = id
        frameHeaders["ack"] = ack.rawValue
        let (stream, continuation) = AsyncThrowingStream<ReceivedMessage, any Error>.makeStream()
        transport.register(subscription: id, continuation: continuation)
        do {
            try await send(StompFrame(.subscribe, headers: frameHeaders), awaitingReceipt: true)
        } catch {
            transport.unregister(subscription: id)
            throw error
        }
        return MessageSubscription(id: id, destination: destination, stream: stream, connection: self)
    }

    func unsubscribe(id: String) async throws {
        try await send(StompFrame(.unsubscribe, headers: ["id": id]), awaitingReceipt: true)
        transport.unregister(subscription: id)
    }

    /// Acknowledges a message of a `client` or `client-individual` subscription.
    public func ack(_ message: ReceivedMessage, transaction: String? = nil, receipt: Bool = false) async throws {
        try await settle(.ack, message, transaction: transaction, receipt: receipt, extra: [:])
    }

    /// Refuses a message; with `requeue` (the default) the broker delivers it again.
    public func nack(_ message: ReceivedMessage, requeue: Bool = true, transaction: String? = nil, receipt: Bool = false) async throws {
        try await settle(.nack, message, transaction: transaction, receipt: receipt, extra: ["requeue": requeue ? "true" : "false"])
    }

    /// Starts a transaction and returns its id.
    public func begin() async throws -> String {
        let id = "tx-\(next())"
        try await send(StompFrame(.begin, headers: ["transaction": id]), awaitingReceipt: false)
        return id
    }

    /// Commits; returns once the broker confirms (and, for publishes, stored them).
    public func commit(_ transaction: String) async throws {
        try await send(StompFrame(.commit, headers: ["transaction": transaction]), awaitingReceipt: true)
    }

    public func abort(_ transaction: String) async throws {
        try await send(StompFrame(.abort, headers: ["transaction": transaction]), awaitingReceipt: true)
    }

    /// Sends DISCONNECT, waits for its receipt (everything sent before was processed), and closes.
    public func disconnect() async throws {
        defer { transport.close() }
        try await send(StompFrame(.disconnect), awaitingReceipt: true)
    }

    /// Sends any frame; with `awaitingReceipt`, adds a receipt header and waits for it.
    /// Sends a frame; with `awaitingReceipt`, waits for the RECEIPT and returns its headers.
    @discardableResult
    public func send(_ frame: StompFrame, awaitingReceipt: Bool) async throws -> StompHeaders {
        guard awaitingReceipt else {
            try transport.send(frame)
            return [:]
        }
        var frame = frame
        let receipt = "r-\(next())"
        frame.headers["receipt"] = receipt
        return try await transport.sendAwaitingReceipt(frame, receipt: receipt)
    }

    private func settle(_ command: StompCommand, _ message: ReceivedMessage, transaction: String?, receipt: Bool,
                        extra: StompHeaders) async throws {
        guard let ackID = message.ackID else {
            throw MusterClientError.invalidArgument("message \(message.messageID) has no ack header: its subscription uses ack:auto")
        }
        var headers = extra
        headers["id"] = ackID
        if let transaction { headers["transaction"] = transaction }
        try await send(StompFrame(command, headers: headers), awaitingReceipt: receipt)
    }

    private func next() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).oldValue }

    private static func parseHeartbeat(_ text: String) -> (send: Int, want: Int)? {
        let parts = text.split(separator: ",").compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }
}

/// The one event loop thread shared by every client connection of the process.
enum ClientEventLoop {
    static let shared: EventLoop = {
        Socket.ignoreBrokenPipeSignal()
        let loop = try! EventLoop(name: "muster-client")
        loop.start()
        return loop
    }()
}

extension MusterConnection {
    /// Opens a TLS connection to the broker as a Foundation `InputStream`/`OutputStream` pair
    /// (no STOMP exchange yet), for adapters that speak STOMP over Foundation streams.
    public static func openStreams(_ options: ClientOptions) throws -> (input: InputStream, output: OutputStream) {
        let context = try TLSContext(role: .client, configuration: options.tlsConfiguration)
        let pair = try BlockingTLSConnection.streamPair(to: options.server, context: context,
                                                        serverName: options.serverName, loop: ClientEventLoop.shared)
        return (pair.input, pair.output)
    }
}
