import Foundation
import Glibc
import MusterNet
import MusterTestSupport
import Synchronization
import Testing

/// The loopback proxy that federation and client tests break links with: passing forwards,
/// a cut resets (RST), a blackhole swallows bytes silently, a flap cuts again and again.
/// Checked against a plain TCP echo server.
@Suite("the link-breaking proxy")
struct LinkProxyTests {
    @Test func passingForwardsBothWays() throws {
        let echo = try EchoServer()
        let proxy = try LinkProxy(to: echo.address)
        defer { proxy.stop(); echo.stop() }
        let client = try BlockingClient(proxy.address)
        defer { client.close() }
        try client.send("hello")
        #expect(try client.receive(5) == "hello")
        #expect(proxy.connectionsAccepted == 1)
    }

    @Test func aCutResetsEveryConnectionAndNewOnesAreAccepted() async throws {
        let echo = try EchoServer()
        let proxy = try LinkProxy(to: echo.address)
        defer { proxy.stop(); echo.stop() }
        let client = try BlockingClient(proxy.address)
        defer { client.close() }
        try client.send("one")
        #expect(try client.receive(3) == "one")

        try await proxy.cut()
        #expect(throws: SystemError.self, "the client sees the reset") { _ = try client.receive(1) }
        #expect(proxy.cuts == 1)

        let again = try BlockingClient(proxy.address)
        defer { again.close() }
        try again.send("two")
        #expect(try again.receive(3) == "two")
        #expect(proxy.connectionsAccepted == 2)
    }

    @Test func aBlackholeSwallowsBytesWhileTheConnectionStaysOpen() async throws {
        let echo = try EchoServer()
        let proxy = try LinkProxy(to: echo.address)
        defer { proxy.stop(); echo.stop() }
        let client = try BlockingClient(proxy.address)
        defer { client.close() }
        proxy.blackhole()
        try client.send("lost")
        try await eventually("the blackhole to swallow the bytes") { proxy.bytesDropped >= 4 }
        proxy.pass()
        try client.send("kept")
        #expect(try client.receive(4) == "kept", "what the blackhole took never arrives; the connection still works")
    }

    @Test func aFlapCutsAgainAndAgain() async throws {
        let echo = try EchoServer()
        let proxy = try LinkProxy(to: echo.address)
        defer { proxy.stop(); echo.stop() }
        proxy.flap(every: .milliseconds(30))
        try await eventually("three cuts") { proxy.cuts >= 3 }
        proxy.pass()
        let client = try BlockingClient(proxy.address)
        defer { client.close() }
        try client.send("after")
        #expect(try client.receive(5) == "after")
    }

    @Test func mutualTLSToABrokerPassesThroughUnchanged() async throws {
        let broker = try await runBlocking { try BrokerProcess.start() }
        defer { broker.stop() }
        let proxy = try LinkProxy(to: broker.address)
        defer { proxy.stop() }
        let files = try broker.pki.client("langxia-town", jurisdiction: "jinshan")
        let run = try await PythonScript.run("stomp_publish_once.py", [
            proxy.address.host, String(proxy.address.port), files.authority, files.certificate, files.key,
            "/topic/jinshan.patrol", "-", "through-the-proxy", "{}", "receipt",
        ])
        #expect(run.status == 0 && run.output.contains("muster-offset"), "stomp.py through the proxy:\n\(run.output)")
        #expect(proxy.connectionsAccepted == 1)
    }
}

/// A blocking TCP client with a receive timeout (a hang becomes an error).
final class BlockingClient: Sendable {
    let descriptor: Int32

    init(_ address: SocketAddress) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = address.port.bigEndian
        target.sin_addr.s_addr = inet_addr(address.host)
        let result = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if result != 0 { throw SystemError(call: "connect", errno: errno) }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else { throw SystemError(call: "write", errno: errno) }
    }

    /// Exactly `count` bytes; throws on a reset, the end or the timeout.
    func receive(_ count: Int) throws -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        while received.count < count {
            let got = read(descriptor, &buffer, count - received.count)
            if got < 0 { throw SystemError(call: "read", errno: errno) }
            if got == 0 { throw SystemError(call: "read (the connection ended)", errno: 0) }
            received += buffer[0..<got]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { Glibc.close(descriptor) }
}

/// A TCP echo server on 127.0.0.1, one thread per connection.
final class EchoServer: Sendable {
    let address: SocketAddress
    private let listener: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, Glibc.listen(listener, 16) == 0 else { throw SystemError(call: "bind/listen", errno: errno) }
        self.listener = listener
        address = SocketAddress(host: "127.0.0.1", port: try Socket.localPort(listener))
        Thread {
            while true {  // until stop() closes the listener
                let connection = accept(listener, nil, nil)
                if connection < 0 { break }
                Thread {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let count = read(connection, &buffer, buffer.count)
                        if count <= 0 || write(connection, buffer, count) != count { break }
                    }
                    Glibc.close(connection)
                }.start()
            }
        }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }
}
