public import Logging
public import MusterNet

/// Serves `GET /metrics` in plain HTTP on a loopback address (`web.metrics-listen`): the
/// operator's scraper on the same host reads it without a certificate. Each connection is
/// handled on one of the broker's event loops (a scrape costs one registry rendering).
public final class MetricsServer: @unchecked Sendable {
    private let listener: TCPListener
    public var boundPort: UInt16 { listener.boundPort }

    public init(address: SocketAddress, loops: EventLoopGroup, endpoint: MetricsEndpoint, logger: Logger,
                timeout: Duration = .seconds(10)) throws(SystemError) {
        let loop = loops.next()
        listener = try TCPListener(address: address, loop: loop, onError: { error in
            logger.warning("metrics endpoint cannot accept a connection", metadata: ["error": "\(error)"])
        }, onAccept: { descriptor in
            let connection = MetricsConnection(descriptor: descriptor, loop: loop, endpoint: endpoint, timeout: timeout)
            do throws(SystemError) { try loop.register(descriptor, handler: connection) } catch {
                logger.warning("metrics endpoint cannot serve a connection", metadata: ["error": "\(error)"])
            }
        })
    }

    public func close() { listener.close() }
}
