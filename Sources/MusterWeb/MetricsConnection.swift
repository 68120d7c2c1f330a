import Glibc
import MusterNet

/// One scrape on a plain-HTTP connection, confined to its event loop: reads the request head,
/// writes the whole response and closes. A client that sends no complete head within
/// `timeout`, or does not read the response in that time, is closed.
final class MetricsConnection: EventHandler {
    private let descriptor: Int32
    private let loop: EventLoop
    private let endpoint: MetricsEndpoint
    private let deadline: ContinuousClock.Instant
    private var received: [UInt8] = []
    private var pending: ArraySlice<UInt8>?
    private var closed = false
    private let onClose: () -> Void

    init(descriptor: Int32, loop: EventLoop, endpoint: MetricsEndpoint, timeout: Duration, onClose: @escaping () -> Void) {
        self.onClose = onClose
        self.descriptor = descriptor
        self.loop = loop
        self.endpoint = endpoint
        self.deadline = .now + timeout
    }

    func handleReadiness(readable: Bool, writable: Bool, hangup: Bool) {
        if pending == nil, readable || hangup { read() }
        if pending != nil { write() }
        if hangup, pending == nil { close() }
    }

    func handleTick(now: ContinuousClock.Instant) {
        guard now >= deadline, !closed else { return }
        if pending == nil { respond(HTTPResponse(status: 408, reason: "Request Timeout", text: "no complete request head in time\n")) } else { close() }
    }

    func handleEndOfIteration() {}

    private func read() {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while !closed {
            let outcome: SyscallOutcome<Int>
            do throws(SystemError) {
                outcome = try syscall("read") { buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) } }
            } catch {
                return close()
            }
            guard case .done(let count) = outcome else { return }
            if count == 0 {
                // The client stopped sending before a whole head.
                let reading = HTTPRequestHead.read(received)
                return respond(endpoint.respond(to: reading == .incomplete ? .invalid("the request head ended early") : reading))
            }
            received += buffer[..<count]
            let reading = HTTPRequestHead.read(received)
            if reading != .incomplete { return respond(endpoint.respond(to: reading)) }
        }
    }

    private func respond(_ response: HTTPResponse) {
        pending = response.encoded[...]
        write()
    }

    private func write() {
        while var remaining = pending, !remaining.isEmpty, !closed {
            let outcome: SyscallOutcome<Int>
            do throws(SystemError) {
                outcome = try syscall("write") { remaining.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) } }
            } catch {
                return close()
            }
            guard case .done(let count) = outcome else {
                try? loop.modify(descriptor, readable: false, writable: true)
                return
            }
            remaining = remaining.dropFirst(count)
            pending = remaining
        }
        close()
    }

    private func close() {
        guard !closed else { return }
        closed = true
        loop.deregister(descriptor)
        Glibc.close(descriptor)
        onClose()
    }
}
