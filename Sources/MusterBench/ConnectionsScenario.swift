import Foundation
import Glibc

/// `connections`: opens `count` mutual-TLS STOMP connections one after another (each a full
/// handshake plus CONNECT/CONNECTED), holds them, and reads the broker's resident memory
/// before and after from /proc when its process id is given.
public struct ConnectionsScenario: Sendable {
    public var count: Int
    public var brokerPID: Int32?
    /// How long the connections are held before memory is read, so that the broker settles.
    public var settle: Double

    public init(count: Int, brokerPID: Int32?, settle: Double = 2) {
        self.count = count
        self.brokerPID = brokerPID
        self.settle = settle
    }

    public func run(against target: BenchTarget, showProgress: Bool) throws -> BenchResult {
        try raiseDescriptorLimit(to: count + 64)
        let context = try target.makeContext()
        let run = BenchRun(scenario: "connections", showProgress: showProgress)
        let before = try brokerPID.map(Self.residentKiB)
        var held: [BenchConnection] = []
        held.reserveCapacity(count)
        run.startReporter()
        let start = ContinuousClock.now
        defer {
            run.finish()
            run.waitForReporter()
        }
        do {
            for _ in 0..<count {
                held.append(try BenchConnection(target: target, context: context))
                run.sent.add(1, ordering: .relaxed)
            }
        } catch {
            throw BenchError("connection \(held.count + 1) of \(count) failed: \(error)")
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        Thread.sleep(forTimeInterval: settle)
        var metrics = [BenchMetric("handshakes", Double(count) / seconds, "per s"),
                       BenchMetric("connections", Double(held.count), "held")]
        if let pid = brokerPID, let before {
            let after = try Self.residentKiB(of: pid)
            metrics.append(BenchMetric("broker-rss-at-rest", Double(before) / 1024, "MB"))
            metrics.append(BenchMetric("broker-rss-held", Double(after) / 1024, "MB"))
            metrics.append(BenchMetric("rss-per-connection", Double(after - before) / Double(count), "KiB"))
        }
        for connection in held { connection.socket.close() }
        return BenchResult(scenario: "connections",
                           parameters: "\(count) sequential mutual-TLS connections, held \(settle) s",
                           metrics: metrics)
    }

    /// VmRSS of a process, in KiB.
    static func residentKiB(of pid: Int32) throws -> Int {
        let path = "/proc/\(pid)/status"
        guard let status = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BenchError("cannot read \(path); is the broker's process id \(pid) right?")
        }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            if let kib = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") { return kib }
        }
        throw BenchError("\(path) has no VmRSS line")
    }
}

/// Lets this process hold `needed` descriptors, up to the hard limit.
func raiseDescriptorLimit(to needed: Int) throws {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    guard limit.rlim_cur < rlim_t(needed) else { return }
    guard limit.rlim_max >= rlim_t(needed) else {
        throw BenchError("\(needed) connections need \(needed) file descriptors, but the hard limit is \(limit.rlim_max); raise it (ulimit -Hn)")
    }
    limit.rlim_cur = rlim_t(needed)
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
