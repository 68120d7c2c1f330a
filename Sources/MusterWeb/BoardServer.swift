import Glibc
public import Logging
public import MusterNet

/// Serves the board (and `/metrics` to monitors) over HTTPS with client certificates: the
/// broker's own TLS context, so the same CAs, CRLs and minimum version apply as to STOMP.
/// Connections run on the loops given (the serve command gives the board loops of its own),
/// at most `maximumConnections` at once (of them at most `BoardStreams.maximumStreams` live
/// streams); the rest are closed at once.
public final class BoardServer: @unchecked Sendable {
    private let listener: TCPListener
    public var boundPort: UInt16 { listener.boundPort }
    public static let maximumConnections = 256
    /// A board connection must finish its TLS handshake sooner than a STOMP one: idle sockets hold slots.
    static let handshakeTimeout: Duration = .seconds(5)

    /// Connections being served; touched on the accepting loop's thread only.
    private final class OpenConnections: @unchecked Sendable {
        var count = 0
    }

    /// `context` gives the TLS context for each new connection (a reload may replace it).
    public init(address: SocketAddress, loops: EventLoopGroup, context: @escaping @Sendable () -> TLSContext?, source: any BoardSource,
                logger: Logger, requestTimeout: Duration = .seconds(10)) throws(SystemError) {
        let loop = loops.next()
        let open = OpenConnections()
        let streams = BoardStreams()
        listener = try TCPListener(address: address, loop: loop, onError: { error in
            logger.warning("the board cannot accept a connection", metadata: ["error": "\(error)"])
        }, onAccept: { descriptor in
            guard open.count < Self.maximumConnections else {
                logger.warning("the board refused a connection: \(Self.maximumConnections) are open")
                Glibc.close(descriptor)
                return
            }
            guard let context = context() else {
                logger.warning("the board refused a connection: the broker has no TLS context (it is not started)")
                Glibc.close(descriptor)
                return
            }
            let connection = BoardConnection(source: source, requestTimeout: requestTimeout, streams: streams) { open.count -= 1 }
            do {
                let channel = try TLSChannel.accept(descriptor: descriptor, context: context, loop: loop, delegate: connection)
                channel.handshakeTimeout = Self.handshakeTimeout
                open.count += 1
                channel.start()
            } catch {
                Glibc.close(descriptor)  // no channel owns it
                logger.error("the board cannot set up TLS for a connection: \(error)")
            }
        })
    }

    public func close() { listener.close() }
}
