public import Foundation

/// The read side of a TLS connection as a Foundation `InputStream`. Reads block until
/// bytes arrive, as with a socket stream used synchronously.
public final class TLSInputStream: InputStream {
    public let connection: BlockingTLSConnection
    private var status: Stream.Status = .notOpen

    public init(connection: BlockingTLSConnection) {
        self.connection = connection
        super.init(data: Data())
    }

    public override func open() { status = connection.isClosed ? .atEnd : .open }
    public override func close() {
        status = .closed
        connection.close()
    }

    public override var streamStatus: Stream.Status {
        if status == .open, connection.isClosed, !connection.hasBytesAvailable { return .atEnd }
        return status
    }

    public override var streamError: (any Error)? { connection.error }
    public override var hasBytesAvailable: Bool { status == .open && connection.hasBytesAvailable }

    public override func read(_ buffer: UnsafeMutablePointer<UInt8>, maxLength length: Int) -> Int {
        guard status == .open else { return status == .atEnd ? 0 : -1 }
        let count = connection.read(into: buffer, maxLength: length)
        if count == 0 { status = .atEnd }
        if count < 0 { status = .error }
        return count
    }

    public override func getBuffer(_ buffer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, length len: UnsafeMutablePointer<Int>) -> Bool {
        false
    }

    public override func schedule(in aRunLoop: RunLoop, forMode mode: RunLoop.Mode) {}
    public override func remove(from aRunLoop: RunLoop, forMode mode: RunLoop.Mode) {}
}

/// The write side of a TLS connection as a Foundation `OutputStream`. Writes queue the
/// bytes on the connection's event loop and return at once.
public final class TLSOutputStream: OutputStream {
    public let connection: BlockingTLSConnection
    private var status: Stream.Status = .notOpen

    public init(connection: BlockingTLSConnection) {
        self.connection = connection
        super.init(toMemory: ())
    }

    public required init(toMemory: ()) {
        fatalError("TLSOutputStream writes to a TLS connection; use init(connection:)")
    }

    public override func open() { status = connection.isClosed ? .closed : .open }
    public override func close() {
        status = .closed
        connection.close()
    }

    public override var streamStatus: Stream.Status { status == .open && connection.isClosed ? .error : status }
    public override var streamError: (any Error)? { connection.error }
    public override var hasSpaceAvailable: Bool { status == .open && !connection.isClosed }

    public override func write(_ buffer: UnsafePointer<UInt8>, maxLength length: Int) -> Int {
        guard status == .open else { return -1 }
        return connection.write(UnsafeBufferPointer(start: buffer, count: length))
    }

    public override func schedule(in aRunLoop: RunLoop, forMode mode: RunLoop.Mode) {}
    public override func remove(from aRunLoop: RunLoop, forMode mode: RunLoop.Mode) {}
}

extension BlockingTLSConnection {
    /// Connects and returns the connection as a Foundation stream pair (not yet opened).
    public static func streamPair(to address: SocketAddress, context: TLSContext, serverName: String,
                                  loop: EventLoop) throws -> (input: TLSInputStream, output: TLSOutputStream) {
        let connection = try open(to: address, context: context, serverName: serverName, loop: loop)
        return (TLSInputStream(connection: connection), TLSOutputStream(connection: connection))
    }
}
