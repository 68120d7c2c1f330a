import Glibc
import MusterNet
import MusterStomp

/// One STOMP connection of a load generator, used by one thread: frames are queued into one
/// buffer and written together, replies are read and decoded as they are needed.
final class BenchConnection: @unchecked Sendable {
    let socket: BlockingTLSSocket
    private var decoder = StompFrameDecoder(limits: .benchmark)
    private var outbound: [UInt8] = []
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    /// Queued bytes beyond which `queue` writes them out.
    static let flushThreshold = 64 * 1024

    /// Opens the TLS connection and completes the STOMP CONNECT exchange.
    init(target: BenchTarget, context: TLSContext) throws {
        socket = try BlockingTLSSocket(connectingTo: target.address, context: context, serverName: target.serverName)
        outbound.reserveCapacity(Self.flushThreshold + 8 * 1024)
        let reply: StompFrame
        do {
            try socket.setReadTimeout(.seconds(10))
            try queue(target.connectFrame)
            reply = try nextFrame()
            try socket.setReadTimeout(.zero)
        } catch let error as BenchError {
            throw error
        } catch is BlockingTLSSocket.TimedOut {
            throw BenchError("\(target.address) sent no CONNECTED frame within 10 s; is it a STOMP broker?")
        } catch {
            // With TLS 1.3 the server judges the client's certificate after the client's handshake
            // is done, so a refused certificate shows up here, as an alert or a reset.
            throw BenchError("\(target.address) closed the connection after the TLS handshake (\(error)); if it refused the client certificate, check --cert and --key, and that the broker trusts the CA that issued it")
        }
        guard reply.command == .connected else {
            throw BenchError("expected CONNECTED from \(target.address), got \(reply.command.rawValue)")
        }
    }

    deinit { readBuffer.deallocate() }

    /// Queues a frame; writes when enough has gathered.
    func queue(_ frame: StompFrame) throws {
        StompFrameEncoder.encode(frame, into: &outbound)
        if outbound.count >= Self.flushThreshold { try flush() }
    }

    /// Queues pre-encoded frame bytes; writes when enough has gathered.
    func queue(encoded bytes: [UInt8]) throws {
        outbound.append(contentsOf: bytes)
        if outbound.count >= Self.flushThreshold { try flush() }
    }

    func flush() throws {
        guard !outbound.isEmpty else { return }
        try outbound.withUnsafeBytes { try socket.write($0) }
        outbound.removeAll(keepingCapacity: true)
    }

    /// The next frame, reading as needed (queued bytes are written first, so a reply can come).
    /// An ERROR frame is thrown with the broker's message.
    func nextFrame() throws -> StompFrame {
        while true {
            if let frame = try decoder.next() {
                if frame.command == .error {
                    let message = frame.headers["message"] ?? ""
                    let body = String(frame.bodyText.prefix(500))
                    throw BenchError("the broker sent ERROR: " + (body.hasPrefix(message) ? body : [message, body].filter { !$0.isEmpty }.joined(separator: ": ")))
                }
                return frame
            }
            try flush()
            let count = try socket.read(into: readBuffer)
            guard count > 0 else { throw BenchError("the broker at \(socket.address) closed the connection") }
            decoder.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
        }
    }

    /// Like `nextFrame`, but gives up (nil) once `stop` says so, checked every `BenchRun.pollInterval`
    /// while waiting; the connection needs a read timeout for that (`socket.setReadTimeout`).
    func nextFrame(unless stop: () -> Bool) throws -> StompFrame? {
        while !stop() {
            do {
                return try nextFrame()
            } catch is BlockingTLSSocket.TimedOut {
                continue
            }
        }
        return nil
    }

    /// Sends DISCONNECT and waits for its receipt, so that everything sent before was handled.
    func disconnect() {
        try? socket.setReadTimeout(.seconds(10))
        try? queue(StompFrame(.disconnect, headers: ["receipt": "bye"]))
        while let frame = try? nextFrame(), frame.command != .receipt || frame.headers["receipt-id"] != "bye" {}
        socket.close()
    }
}

extension StompLimits {
    /// Generous limits for reading whatever a broker sends.
    static var benchmark: StompLimits {
        var limits = StompLimits.default
        limits.maxFrameBytes = 64 << 20
        limits.maxBodyBytes = 64 << 20
        limits.maxHeaderCount = 1024
        limits.maxHeaderLineBytes = 1 << 20
        return limits
    }
}
