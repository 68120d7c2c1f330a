import Foundation
import Glibc
import MusterNet

/// `ceiling`: the machine's limits for durable request/response, measured with small loops:
/// a 1 KiB append + fdatasync (into a growing file and into a preallocated one), and a 1 KiB
/// TLS round trip over loopback between two threads of this process. A broker that fsyncs
/// each message before its receipt can do at most 1 / (fdatasync + round trip) per second.
public struct CeilingScenario: Sendable {
    public var directory: String
    public var samples: Int
    public var serverCertificate: String
    public var serverKey: String

    public init(directory: String, samples: Int, serverCertificate: String, serverKey: String) {
        self.directory = directory
        self.samples = samples
        self.serverCertificate = serverCertificate
        self.serverKey = serverKey
    }

    public func run(against target: BenchTarget, showProgress: Bool) throws -> BenchResult {
        let appendTimings = try syncLatencies(preallocated: false)
        let preallocatedTimings = try syncLatencies(preallocated: true)
        let roundTrips = try tlsRoundTrips(target: target)
        let append = median(appendTimings), preallocated = median(preallocatedTimings), roundTrip = median(roundTrips)
        return BenchResult(
            scenario: "ceiling",
            parameters: "\(samples) samples each, files in \(directory)",
            metrics: [BenchMetric("fdatasync-append", append, "µs"),
                      BenchMetric("fdatasync-preallocated", preallocated, "µs"),
                      BenchMetric("tls-round-trip", roundTrip, "µs"),
                      BenchMetric("ceiling", 1e6 / (append + roundTrip), "msg/s"),
                      BenchMetric("ceiling-preallocated", 1e6 / (preallocated + roundTrip), "msg/s"),
                      // The tails bound what any broker that fsyncs before delivering can promise.
                      BenchMetric("fdatasync-preallocated-p99", percentile(preallocatedTimings, 99), "µs"),
                      BenchMetric("fdatasync-preallocated-p99.9", percentile(preallocatedTimings, 99.9), "µs"),
                      BenchMetric("tls-round-trip-p99", percentile(roundTrips, 99), "µs")])
    }

    /// Microseconds of each 1 KiB write followed by fdatasync.
    func syncLatencies(preallocated: Bool) throws -> [Double] {
        let path = "\(directory)/muster-ceiling-\(getpid())-\(preallocated ? "p" : "a")"
        let descriptor = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        guard descriptor >= 0 else { throw BenchError("cannot create \(path): \(String(cString: strerror(errno))); pass a writable --directory") }
        defer {
            close(descriptor)
            unlink(path)
        }
        let block = [UInt8](repeating: 0x61, count: 1024)
        if preallocated {
            let refused = posix_fallocate(descriptor, 0, off_t(samples * block.count))
            guard refused == 0 else { throw BenchError("cannot preallocate \(path): \(String(cString: strerror(refused)))") }
            guard fdatasync(descriptor) == 0 else { throw BenchError("fdatasync on \(path) failed: \(String(cString: strerror(errno)))") }
        }
        var timings: [Double] = []
        for index in 0..<samples {
            let start = monotonicNanoseconds()
            let written = block.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(index * block.count)) }
            guard written == block.count, fdatasync(descriptor) == 0 else {
                throw BenchError("write or fdatasync on \(path) failed: \(String(cString: strerror(errno)))")
            }
            timings.append(Double(monotonicNanoseconds() - start) / 1000)
        }
        return timings
    }

    /// Microseconds of each 1 KiB message there and back over mutual TLS on loopback.
    func tlsRoundTrips(target: BenchTarget) throws -> [Double] {
        let serverContext = try TLSContext(role: .server, configuration: TLSConfiguration(
            certificatePath: serverCertificate, privateKeyPath: serverKey,
            trustedAuthorityPaths: target.tls.trustedAuthorityPaths, minimumVersion: .tls13))
        let listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let port = try Socket.localPort(listener)
        let echo = Thread {
            guard let descriptor = Self.acceptBlocking(listener),
                  let server = try? BlockingTLSSocket(accepted: descriptor, context: serverContext) else { return }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 8)
            defer { buffer.deallocate() }
            while let count = try? server.read(into: buffer), count > 0 {
                guard (try? server.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))) != nil else { return }
            }
        }
        echo.start()
        let client = try BlockingTLSSocket(connectingTo: SocketAddress(host: "127.0.0.1", port: port),
                                           context: try target.makeContext(), serverName: "127.0.0.1")
        defer { client.close() }
        let message = [UInt8](repeating: 0x62, count: 1024)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 8)
        defer { reply.deallocate() }
        var timings: [Double] = []
        for _ in 0..<samples {
            let start = monotonicNanoseconds()
            try client.write(message)
            var received = 0
            while received < message.count {
                let count = try client.read(into: UnsafeMutableRawBufferPointer(rebasing: reply[received...]))
                guard count > 0 else { throw BenchError("the TLS echo closed early") }
                received += count
            }
            timings.append(Double(monotonicNanoseconds() - start) / 1000)
        }
        return timings
    }

    /// Waits for one connection on a non-blocking listener and returns it as a blocking socket.
    static func acceptBlocking(_ listener: Int32) -> Int32? {
        for _ in 0..<5000 {
            if let descriptor = try? Socket.accept(listener) {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
                return descriptor
            }
            usleep(1000)
        }
        return nil
    }
}

/// Nearest-rank percentile (0 for no values).
func percentile(_ values: [Double], _ rank: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let index = Int((rank / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(index, 0), sorted.count - 1)]
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
