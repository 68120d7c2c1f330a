public import Foundation
public import MusterNet
public import MusterStomp

/// A bare STOMP connection for tests that must send exactly the bytes they choose
/// (malformed frames, silent heart-beats). It talks through the Foundation stream pair,
/// so it also exercises `TLSInputStream`/`TLSOutputStream`.
public final class RawStompClient: @unchecked Sendable {
    public let input: TLSInputStream
    public let output: TLSOutputStream
    private var decoder = StompFrameDecoder()
    /// Every byte received, heart-beat newlines included.
    public private(set) var received: [UInt8] = []

    public init(address: SocketAddress, tls: TLSConfiguration, loop: EventLoop) throws {
        let context = try TLSContext(role: .client, configuration: tls)
        (input, output) = try BlockingTLSConnection.streamPair(to: address, context: context, serverName: address.host, loop: loop)
        input.open()
        output.open()
    }

    public func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBufferPointer { output.write($0.baseAddress!, maxLength: $0.count) }
    }

    /// The STOMP version frames are written and read as (set it once CONNECTED says which).
    public var version: StompVersion {
        get { decoder.version }
        set { decoder.version = newValue }
    }

    public func send(_ frame: StompFrame) { send(StompFrameEncoder.encode(frame, version: version)) }

    /// The next frame, nil if the connection ended or nothing came before the timeout.
    public func nextFrame(timeout: TimeInterval = 10) throws -> StompFrame? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let frame = try decoder.next() { return frame }
            guard let count = readSome(until: deadline), count > 0 else { return nil }
        }
    }

    /// Reads until the connection ends or the timeout passes; true if it ended.
    public func waitForClose(timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard let count = readSome(until: deadline) else { return false }
            if count <= 0 { return true }
        }
    }

    /// Reads once; the byte count (0 at the end), or nil at the deadline.
    private func readSome(until deadline: Date) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let count = buffer.withUnsafeMutableBufferPointer {
            input.connection.read(into: $0.baseAddress!, maxLength: $0.count, deadline: deadline)
        }
        guard let count else { return nil }
        if count > 0 {
            received += buffer[0..<count]
            decoder.append(buffer[0..<count])
        }
        return count
    }

    public func close() { input.close() }
}
