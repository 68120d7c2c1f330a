import Logging
import MusterNet
import MusterServer
import MusterWeb

/// `web.listen`: the coordinators' board over HTTPS with the parties' own certificates.
enum BoardSetup {
    /// Starts serving the board at `address` on a loop of its own (a page being drawn never
    /// delays a STOMP frame), with the broker's TLS context: the same CAs, CRLs and parties.
    static func serve(at address: SocketAddress, server: BrokerServer, logger: Logger) throws -> (BoardServer, EventLoopGroup) {
        let loops = try EventLoopGroup(count: 1, namePrefix: "muster-board")
        do {
            let board = try BoardServer(address: address, loops: loops, context: { [weak server] in server?.tlsContext }, source: server.board, logger: logger)
            logger.info("board served", metadata: ["address": "https://\(SocketAddress(host: address.host, port: board.boundPort))/"])
            return (board, loops)
        } catch {
            loops.shutdown()
            throw error
        }
    }
}
