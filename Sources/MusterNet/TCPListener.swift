import Glibc

/// A listening socket on an event loop; hands each accepted descriptor to `onAccept`.
public final class TCPListener: EventHandler, @unchecked Sendable {
    public let address: SocketAddress
    public let loop: EventLoop
    /// The bound port (differs from `address.port` when that was 0).
    public let boundPort: UInt16
    private let descriptor: Int32
    private let onAccept: (Int32) -> Void
    private let onError: (SystemError) -> Void

    /// Binds and listens at once (so the port is known), then starts accepting on `loop`.
    public init(address: SocketAddress, loop: EventLoop,
                onError: @escaping (SystemError) -> Void,
                onAccept: @escaping (Int32) -> Void) throws(SystemError) {
        self.address = address
        self.loop = loop
        self.onAccept = onAccept
        self.onError = onError
        descriptor = try Socket.listen(on: address)
        boundPort = (try? Socket.localPort(descriptor)) ?? address.port
        loop.execute { [self] in
            do throws(SystemError) { try loop.register(descriptor, handler: self) } catch { self.onError(error) }
        }
    }

    /// Stops accepting and closes the socket.
    public func close() {
        loop.execute { [self] in
            loop.deregister(descriptor)
            Glibc.close(descriptor)
        }
    }

    public func handleReadiness(readable: Bool, writable: Bool, hangup: Bool) {
        // Accept in batches so one busy listener cannot starve established connections.
        for _ in 0..<64 {
            do throws(SystemError) {
                guard let accepted = try Socket.accept(descriptor) else { return }
                onAccept(accepted)
            } catch {
                // EMFILE and friends: report, keep listening.
                onError(error)
                return
            }
        }
    }

    public func handleTick(now: ContinuousClock.Instant) {}
    public func handleEndOfIteration() {}
}
