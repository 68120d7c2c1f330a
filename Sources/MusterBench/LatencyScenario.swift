import Glibc
import Histogram
public import MusterNet
import MusterStomp

/// `latency`: one publisher at a steady rate, one subscriber; each body starts with the time
/// the message was due to be sent (so a publisher that falls behind shows up as latency, not
/// as fewer samples), and the subscriber records arrival minus that time in an HdrHistogram.
public struct LatencyScenario: Sendable {
    public var destination: String
    public var rate: Int
    public var duration: Double
    public var warmup: Double
    public var bodySize: Int
    public var ackMode: String
    /// Where the subscriber connects, when not to the publisher's broker (a federation peer
    /// that imports the destination): the latency across a link.
    public var subscriberAddress: SocketAddress?

    public init(destination: String, rate: Int, duration: Double, warmup: Double, bodySize: Int, ackMode: String,
                subscriberAddress: SocketAddress? = nil) {
        self.subscriberAddress = subscriberAddress
        self.destination = destination
        self.rate = rate
        self.duration = duration
        self.warmup = warmup
        self.bodySize = bodySize
        self.ackMode = ackMode
    }

    /// Digits of the due time at the start of each body.
    static let stampLength = 20

    public func run(against target: BenchTarget, showProgress: Bool) throws -> BenchResult {
        guard let mode = Subscriber.AckMode(rawValue: ackMode) else {
            throw BenchError("unknown ack mode \(ackMode); use auto, client or client-individual")
        }
        guard rate > 0, duration > 0, bodySize >= Self.stampLength else {
            throw BenchError("latency needs --rate > 0, --duration > 0 and --size of at least \(Self.stampLength) bytes")
        }
        let context = try target.makeContext()
        let run = BenchRun(scenario: "latency", showProgress: showProgress)
        var readerTarget = target
        if let subscriberAddress { readerTarget.address = subscriberAddress }
        let reader = try BenchConnection(target: readerTarget, context: context)
        run.track(reader)
        try Subscriber(connection: reader, ackMode: mode).subscribe(id: "latency", destination: destination, target: readerTarget)
        let writer = try BenchConnection(target: target, context: context)
        run.track(writer)

        let total = Int((Double(rate) * (warmup + duration)).rounded())
        let start = monotonicNanoseconds() + 10_000_000
        let measuredFrom = start + UInt64(warmup * 1e9)
        let recorder = LatencyRecorder()
        let plan = PublishPlan(destination: destination, count: total, bodySize: bodySize, receiptEvery: 100, outstanding: 1000)
        run.startReporter()
        run.runThreads([
            { @Sendable in
                var subscriber = Subscriber(connection: reader, ackMode: mode)
                try subscriber.prepareToWait()
                defer { try? subscriber.finish() }
                while let message = try subscriber.nextMessage(unless: { run.isFinished }) {
                    let arrived = monotonicNanoseconds()
                    guard let due = Self.dueTime(in: message.body) else {
                        throw BenchError("a message arrived without the benchmark's timestamp; is another publisher using \(destination)?")
                    }
                    if due >= measuredFrom { recorder.record(microseconds: (arrived &- due) / 1000) }
                    if run.received.add(1, ordering: .relaxed).newValue == total { run.finish() }
                }
            },
            { @Sendable in
                var publisher = Publisher(connection: writer, target: target, plan: plan, run: run)
                var body = filler(count: bodySize)
                for index in 0..<total {
                    if run.isFinished { return }
                    // Exact at any rate: message i is due i/rate seconds after the start.
                    let due = start + UInt64(index) * 1_000_000_000 / UInt64(rate)
                    sleepUntil(due)
                    Self.stamp(due, into: &body)
                    try publisher.send(publisher.frame(body: body, receipt: publisher.wantsReceipt(index) ? "l\(index)" : nil),
                                       withReceipt: publisher.wantsReceipt(index))
                    try writer.flush()
                }
                try publisher.finish()
            },
        ])
        run.finish()
        run.waitForReporter()
        try run.check()
        let histogram = recorder.histogram
        guard histogram.totalCount > 0 else { throw BenchError("no message arrived after the warm-up") }
        return BenchResult(
            scenario: "latency",
            parameters: "\(rate) msg/s for \(duration) s after \(warmup) s warm-up, \(bodySize) B via \(destination), ack \(ackMode)"
                + (subscriberAddress.map { ", received at \($0)" } ?? ""),
            metrics: [50.0, 90.0, 99.0, 99.9].map { BenchMetric("p\(BenchReport.plain($0))", Double(histogram.valueAtPercentile($0)), "µs") }
                + [BenchMetric("max", Double(histogram.max), "µs"),
                   BenchMetric("messages", Double(histogram.totalCount), "msg")])
    }

    /// Right-aligned, padded with spaces: a body of exactly the stamp is then a JSON number (for
    /// a typed destination whose schema takes one, as the federation benchmark's urgent probe).
    static func stamp(_ nanoseconds: UInt64, into body: inout [UInt8]) {
        var value = nanoseconds
        for index in stride(from: stampLength - 1, through: 0, by: -1) {
            body[index] = value == 0 && index < stampLength - 1 ? UInt8(ascii: " ") : UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
    }

    static func dueTime(in body: [UInt8]) -> UInt64? {
        guard body.count >= stampLength else { return nil }
        var value: UInt64 = 0
        var digits = 0
        for byte in body[0..<stampLength] {
            if byte == UInt8(ascii: " "), digits == 0 { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            digits += 1
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            value = sum
        }
        return digits > 0 ? value : nil
    }
}

/// The subscriber thread's histogram; read by the main thread only after that thread ended.
final class LatencyRecorder: @unchecked Sendable {
    private(set) var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

    func record(microseconds: UInt64) {
        _ = histogram.record(min(max(microseconds, 1), histogram.highestTrackableValue))
    }
}

/// Sleeps until the monotonic clock reads `deadline` (returns at once if it has passed).
func sleepUntil(_ deadline: UInt64) {
    var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
}
