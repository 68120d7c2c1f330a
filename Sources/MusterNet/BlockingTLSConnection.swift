public import Foundation

/// A client TLS connection with blocking reads and writes, on top of a `TLSChannel`
/// driven by an event loop. It backs the Foundation stream pair (`TLSInputStream`,
/// `TLSOutputStream`) for adapters written against Foundation's stream API.
public final class BlockingTLSConnection: TLSChannelDelegate, @unchecked Sendable {
    private let condition = NSCondition()
    private var inbound: [UInt8] = []
    private var inboundOffset = 0
    /// Reading from the socket stops while this much is buffered and unread.
    static let inboundLimit = 1 << 20
    private var readingPaused = false
    private var opened = false
    private var closed = false
    private var closeError: (any Error)?
    private var channel: TLSChannel!

    private init() {}

    /// Connects and completes the handshake, or throws why it could not.
    public static func open(to address: SocketAddress, context: TLSContext, serverName: String,
                            loop: EventLoop, timeout: Duration = .seconds(10)) throws -> BlockingTLSConnection {
        let connection = BlockingTLSConnection()
        let channel = try TLSChannel.connect(to: address, context: context, loop: loop, serverName: serverName, delegate: connection)
        channel.handshakeTimeout = timeout
        connection.channel = channel
        channel.start()
        connection.condition.lock()
        defer { connection.condition.unlock() }
        while !connection.opened && !connection.closed { connection.condition.wait() }
        if !connection.opened {
            throw connection.closeError ?? ChannelClosedError(reason: "the connection closed during the handshake")
        }
        return connection
    }

    /// Why the connection closed, if it closed with an error.
    public var error: (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return closeError
    }

    /// Whether bytes can be read without blocking (or the end was reached).
    public var hasBytesAvailable: Bool {
        condition.lock()
        defer { condition.unlock() }
        return inboundOffset < inbound.count || closed
    }

    /// Blocks until at least one byte arrives; returns the count, 0 at the end, -1 on error.
    public func read(into buffer: UnsafeMutablePointer<UInt8>, maxLength: Int) -> Int {
        condition.lock()
        while inboundOffset == inbound.count && !closed { condition.wait() }
        let available = inbound.count - inboundOffset
        if available == 0 {
            condition.unlock()
            return closeError == nil ? 0 : -1
        }
        let count = min(available, maxLength)
        inbound.withUnsafeBufferPointer { source in
            buffer.update(from: source.baseAddress! + inboundOffset, count: count)
        }
        inboundOffset += count
        if inboundOffset == inbound.count {
            inbound.removeAll(keepingCapacity: true)
            inboundOffset = 0
        } else if inboundOffset >= Self.inboundLimit {
            inbound.removeFirst(inboundOffset)
            inboundOffset = 0
        }
        let resume = readingPaused && inbound.count - inboundOffset < Self.inboundLimit / 2
        if resume { readingPaused = false }
        condition.unlock()
        if resume { channel.loop.execute { [channel] in channel.resumeReading() } }
        return count
    }

    /// Like `read`, but gives up at `deadline`: nil when nothing arrived in time.
    public func read(into buffer: UnsafeMutablePointer<UInt8>, maxLength: Int, deadline: Date) -> Int? {
        condition.lock()
        while inboundOffset == inbound.count && !closed {
            if !condition.wait(until: deadline) {
                condition.unlock()
                return nil
            }
        }
        condition.unlock()
        return read(into: buffer, maxLength: maxLength)
    }

    /// Queues bytes for sending; returns the count accepted, or -1 once the connection is closed.
    public func write(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        if isClosed { return -1 }
        channel.write(Array(bytes))
        return bytes.count
    }

    public func close() { channel.close() }

    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    // MARK: TLSChannelDelegate (loop thread)

    public func channelDidOpen(_ channel: TLSChannel) {
        condition.lock()
        opened = true
        condition.broadcast()
        condition.unlock()
    }

    public func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        condition.lock()
        inbound.append(contentsOf: bytes)
        let pause = !readingPaused && inbound.count - inboundOffset >= Self.inboundLimit
        if pause { readingPaused = true }
        condition.broadcast()
        condition.unlock()
        if pause { channel.pauseReading() }
    }

    public func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        condition.lock()
        closed = true
        closeError = error
        condition.broadcast()
        condition.unlock()
    }
}
