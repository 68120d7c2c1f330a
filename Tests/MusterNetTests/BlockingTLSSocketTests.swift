import Glibc
import MusterNet
import MusterTestSupport
import Testing

/// The blocking client socket load generators use: a connection that cannot be made is an
/// error the caller can report, never a crash.
@Suite("blocking TLS socket")
struct BlockingTLSSocketTests {
    /// A refused connect fails inside the initializer after every stored property is set, so
    /// the object's deinit runs too: the socket must be released once, not freed twice.
    @Test func aConnectionThatCannotBeMadeThrowsWithoutCrashing() async {
        await #expect(processExitsWith: .success) {
            let directory = try TemporaryDirectory(prefix: "muster-blocking-socket")
            defer { directory.remove() }
            let client = try TestPKI(in: directory.path).client("langxia-town")
            let context = try TLSContext(role: .client, configuration: client.tls)
            let listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
            let port = try Socket.localPort(listener)
            close(listener)
            do {
                _ = try BlockingTLSSocket(connectingTo: SocketAddress(host: "127.0.0.1", port: port), context: context, serverName: "127.0.0.1")
                exit(2)
            } catch {
                // Refused, as expected; the process must now exit normally.
            }
        }
    }
}
