import Glibc
public import Logging
public import MusterNet

/// Serves `GET /metrics` in plain HTTP on a loopback address (`web.metrics-listen`): the
/// operator's scraper on the same host reads it without a certificate. Connections are
/// handled on the loop given (the serve command gives it one of its own), at most
/// `maximumConnections` at a time: the others are closed at once, so that scrapers cannot
/// take the descriptors the broker's own connections and log need.
public final class MetricsServer: @unchecked Sendable {
    private let listener: TCPListener
    public var boundPort: UInt16 { listener.boundPort }
    public static let maximumConnections = 16

    /// Connections being served; touched on the loop's thread only.
    private final class OpenConnections: @unchecked Sendable {
        var count = 0
    }

    public init(address: SocketAddress, loops: EventLoopGroup, endpoint: MetricsEndpoint, logger: Logger,
                timeout: Duration = .seconds(10)) throws(SystemError) {
        let loop = loops.next()
        let open = OpenConnections()
        listener = try TCPListener(address: address, loop: loop, onError: { error in
            logger.warning("metrics endpoint cannot accept a connection", metadata: ["error": "\(error)"])
        }, onAccept: { descriptor in
            guard open.count < Self.maximumConnections else {
                Glibc.close(descriptor)
                return
            }
            let connection = MetricsConnection(descriptor: descriptor, loop: loop, endpoint: endpoint, timeout: timeout) { open.count -= 1 }
            do throws(SystemError) {
                try loop.register(descriptor, handler: connection)
                open.count += 1
            } catch {
                loop.deregister(descriptor)  // `register` keeps the handler even when epoll refuses it
                Glibc.close(descriptor)
                logger.warning("metrics endpoint cannot serve a connection", metadata: ["error": "\(error)"])
            }
        })
    }

    public func close() { listener.close() }
}
