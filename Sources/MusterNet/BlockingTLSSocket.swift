internal import COpenSSL
import CLinuxSystem
import Glibc

/// A client TLS connection on a blocking socket, owned by one thread: no event loop, no
/// locks, no copies beyond OpenSSL's own. Load generators use it to drive a broker as hard
/// as the machine allows; brokers and adapters use `TLSChannel`. Only `interrupt` may be
/// called from another thread.
public final class BlockingTLSSocket: @unchecked Sendable {
    public let address: SocketAddress
    private let descriptor: Int32
    private let ssl: OpaquePointer
    private var closed = false

    /// Connects and completes the mutual-TLS handshake, or throws why it could not.
    /// `serverName` is the name or IP address the server's certificate must carry.
    /// The connect and the handshake must finish within `timeout`.
    public convenience init(connectingTo address: SocketAddress, context: TLSContext, serverName: String,
                            timeout: Duration = .seconds(10)) throws {
        precondition(context.role == .client, "connecting needs a client TLS context")
        let descriptor = try syscallValue("socket") {
            Glibc.socket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        }
        try self.init(descriptor: descriptor, address: address, context: context) { ssl throws in
            try Self.setTimeouts(descriptor, timeout)
            try address.withSockaddr { pointer, length throws(SystemError) in
                _ = try syscallValue("connect(\(address))") { Glibc.connect(descriptor, pointer, length) }
            }
            SSL_set_connect_state(ssl)
            try TLSChannel.requireServerName(serverName, on: ssl)
            let result = SSL_connect(ssl)
            if result != 1, [SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE].contains(SSL_get_error(ssl, result)) {
                throw SystemError(call: "TLS handshake with \(address) (no answer within \(timeout))", errno: ETIMEDOUT)
            }
            try Self.setTimeouts(descriptor, .zero)
            return result
        }
    }

    /// Completes the server side of a handshake on an accepted blocking socket (which it owns from now on).
    public convenience init(accepted descriptor: Int32, context: TLSContext) throws {
        precondition(context.role == .server, "accepting needs a server TLS context")
        let address = SocketAddress(host: Socket.peerDescription(descriptor), port: 0)
        try self.init(descriptor: descriptor, address: address, context: context) { ssl in
            SSL_set_accept_state(ssl)
            return SSL_accept(ssl)
        }
    }

    private init(descriptor: Int32, address: SocketAddress, context: TLSContext,
                 handshake: (OpaquePointer) throws -> Int32) throws {
        self.address = address
        guard let ssl = SSL_new(context.context) else {
            Glibc.close(descriptor)
            throw OpenSSLError.drain("SSL_new")
        }
        self.descriptor = descriptor
        self.ssl = ssl
        do {
            try Socket.setOption(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            SSL_set_fd(ssl, descriptor)
            let result = try handshake(ssl)
            guard result == 1 else { throw failure("TLS handshake with \(address)", result) }
        } catch {
            // deinit still runs (every property is set) and frees the SSL object.
            closed = true
            Glibc.close(descriptor)
            throw error
        }
    }

    deinit {
        close()
        SSL_free(ssl)
    }

    /// Writes every byte (TLS records of up to 16 KiB each), blocking while the peer is slow.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            var written = 0
            let result = SSL_write_ex(ssl, bytes.baseAddress! + offset, bytes.count - offset, &written)
            guard result == 1 else { throw failure("write to \(address)", result) }
            offset += written
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Blocks until bytes arrive; returns how many, or 0 when the peer closed the connection.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var count = 0
        let result = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if result == 1 { return count }
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_ZERO_RETURN { return 0 }
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { throw TimedOut() }
        if code == SSL_ERROR_SYSCALL && OpenSSLError.drainQueue().isEmpty && errno == 0 { return 0 }
        throw failure("read from \(address)", result)
    }

    /// Reads give up after `timeout` (zero: never) and throw `TimedOut`; the connection stays usable.
    public func setReadTimeout(_ timeout: Duration) throws {
        try Self.setTimeout(descriptor, SO_RCVTIMEO, timeout)
    }

    /// A `read` that waited its whole timeout; nothing was lost, read again.
    public struct TimedOut: Error {}

    private static func setTimeouts(_ descriptor: Int32, _ timeout: Duration) throws {
        try setTimeout(descriptor, SO_RCVTIMEO, timeout)
        try setTimeout(descriptor, SO_SNDTIMEO, timeout)
    }

    private static func setTimeout(_ descriptor: Int32, _ option: Int32, _ timeout: Duration) throws {
        let microseconds = timeout / .microseconds(1)
        var value = timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds.truncatingRemainder(dividingBy: 1_000_000)))
        try syscallValue("setsockopt(timeout)") {
            setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Wakes a thread blocked in `read` or `write` on this socket (it then sees the connection
    /// end); safe from any thread.
    public func interrupt() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Sends close_notify (best effort) and closes the socket.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = SSL_shutdown(ssl)
        Glibc.close(descriptor)
    }

    private func failure(_ operation: String, _ result: Int32) -> any Error {
        let code = SSL_get_error(ssl, result)
        let queue = OpenSSLError.drainQueue()
        if !queue.isEmpty { return OpenSSLError(operation: operation, queue: queue) }
        if code == SSL_ERROR_SYSCALL, errno != 0 { return SystemError(call: operation, errno: errno) }
        if code == SSL_ERROR_ZERO_RETURN || code == SSL_ERROR_SYSCALL {
            return ChannelClosedError(reason: "\(address) closed the connection")
        }
        return OpenSSLError(operation: operation, queue: ["SSL error \(code)"])
    }
}
