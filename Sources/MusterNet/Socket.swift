import CLinuxSystem
import Glibc

/// Non-blocking TCP socket helpers. Every call goes through `syscall`.
public enum Socket {
    /// Ignores SIGPIPE for the whole process: a peer that vanishes mid-write must
    /// produce EPIPE, not kill the broker.
    public static func ignoreBrokenPipeSignal() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// A non-blocking listening socket bound to `address`.
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024) throws(SystemError) -> Int32 {
        let descriptor = try syscallValue("socket") {
            muster_socket_nonblocking(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue))
        }
        do {
            try setOption(descriptor, SOL_SOCKET, SO_REUSEADDR, 1)
            _ = try address.withSockaddr { pointer, length throws(SystemError) in
                try syscallValue("bind(\(address))") { bind(descriptor, pointer, length) }
            }
            try syscallValue("listen") { Glibc.listen(descriptor, backlog) }
            return descriptor
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    /// Starts a non-blocking connect; completion is signalled by writability, then `connectResult`.
    public static func startConnect(to address: SocketAddress) throws(SystemError) -> Int32 {
        let descriptor = try syscallValue("socket") {
            muster_socket_nonblocking(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue))
        }
        do {
            try setOption(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            try address.withSockaddr { pointer, length throws(SystemError) in
                _ = try syscall("connect(\(address))") { connect(descriptor, pointer, length) }
            }
            return descriptor
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    /// The outcome of a non-blocking connect (SO_ERROR), thrown if it failed.
    public static func connectResult(_ descriptor: Int32, address: SocketAddress) throws(SystemError) {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try syscallValue("getsockopt(SO_ERROR)") { getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &code, &length) }
        if code != 0 { throw SystemError(call: "connect(\(address))", errno: code) }
    }

    /// Accepts one pending connection, or nil when none is waiting.
    public static func accept(_ listener: Int32) throws(SystemError) -> Int32? {
        switch try syscall("accept4", { muster_accept4_nonblocking(listener) }) {
        case .done(let descriptor):
            try? setOption(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            return descriptor
        case .wouldBlock:
            return nil
        }
    }

    /// The port a socket is bound to (useful after binding port 0).
    public static func localPort(_ descriptor: Int32) throws(SystemError) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        if result != 0 { throw SystemError(call: "getsockname", errno: errno) }
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// The remote "host:port" of a connected socket, for logs.
    public static func peerDescription(_ descriptor: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
        }
        guard result == 0 else { return "unknown peer" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { pointer -> String in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                    return "[\(String(nulTerminated: text))]:\(UInt16(bigEndian: address.pointee.sin6_port))"
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                var raw = address.pointee.sin_addr
                inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                return "\(String(nulTerminated: text)):\(UInt16(bigEndian: address.pointee.sin_port))"
            }
        }
    }

    static func setOption(_ descriptor: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var value = value
        try syscallValue("setsockopt") {
            setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }
}
