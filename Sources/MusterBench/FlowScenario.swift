import Synchronization

/// `end-to-end` and `fanout`: publishers and subscribers at once; the clock stops when every
/// expected delivery has arrived. On a queue the subscribers share the messages; on a topic
/// each subscriber gets every message.
public struct FlowScenario: Sendable {
    public enum Shape: String, Sendable { case endToEnd = "end-to-end", fanout }

    public var shape: Shape
    public var destination: String
    public var messages: Int
    public var bodySize: Int
    public var publishers: Int
    public var subscribers: Int
    public var ackMode: String
    public var receiptEvery: Int
    public var outstanding: Int

    public init(shape: Shape, destination: String, messages: Int, bodySize: Int, publishers: Int, subscribers: Int,
                ackMode: String, receiptEvery: Int, outstanding: Int) {
        self.shape = shape
        self.destination = destination
        self.messages = messages
        self.bodySize = bodySize
        self.publishers = publishers
        self.subscribers = subscribers
        self.ackMode = ackMode
        self.receiptEvery = receiptEvery
        self.outstanding = outstanding
    }

    var expectedDeliveries: Int { shape == .fanout ? messages * subscribers : messages }

    public func run(against target: BenchTarget, showProgress: Bool) throws -> BenchResult {
        guard let mode = Subscriber.AckMode(rawValue: ackMode) else {
            throw BenchError("unknown ack mode \(ackMode); use auto, client or client-individual")
        }
        let context = try target.makeContext()
        let run = BenchRun(scenario: shape.rawValue, showProgress: showProgress)
        let readers = try (0..<subscribers).map { index in
            let connection = try BenchConnection(target: target, context: context)
            run.track(connection)
            try Subscriber(connection: connection, ackMode: mode).subscribe(id: "bench-\(index)", destination: destination, target: target)
            return connection
        }
        let writers = try (0..<publishers).map { _ in try BenchConnection(target: target, context: context) }
        writers.forEach(run.track)
        let expected = expectedDeliveries
        let end = Mutex<ContinuousClock.Instant?>(nil)
        var bodies: [@Sendable () throws -> Void] = readers.map { connection in
            { @Sendable in
                var subscriber = Subscriber(connection: connection, ackMode: mode)
                try subscriber.prepareToWait()
                while try subscriber.nextMessage(unless: { run.isFinished }) != nil {
                    if run.received.add(1, ordering: .relaxed).newValue == expected {
                        end.withLock { $0 = .now }
                        run.finish()
                    }
                }
                try subscriber.finish()
            }
        }
        for (connection, share) in zip(writers, split(messages, into: publishers)) {
            let plan = PublishPlan(destination: destination, count: share, bodySize: bodySize,
                                   receiptEvery: receiptEvery, outstanding: outstanding)
            bodies.append { @Sendable in
                var publisher = Publisher(connection: connection, target: target, plan: plan, run: run)
                try publisher.sendAll()
            }
        }
        run.startReporter()
        let start = ContinuousClock.now
        run.runThreads(bodies)
        run.finish()
        run.waitForReporter()
        try run.check()
        guard let finished = end.withLock({ $0 }) else {
            throw BenchError("the run ended before every delivery arrived (\(run.received.load(ordering: .relaxed)) of \(expected))")
        }
        let seconds = (finished - start) / .seconds(1)
        let parameters = "\(messages) × \(bodySize) B via \(destination), \(publishers) publisher(s), \(subscribers) subscriber(s), ack \(ackMode), receipt every \(receiptEvery), \(outstanding) outstanding"
        let rateName = shape == .fanout ? "deliveries" : "throughput"
        let rateUnit = shape == .fanout ? "deliveries/s" : "msg/s"
        return BenchResult(scenario: shape.rawValue, parameters: parameters,
                           metrics: [BenchMetric(rateName, Double(expected) / seconds, rateUnit),
                                     BenchMetric("messages", Double(messages), "msg"),
                                     BenchMetric("seconds", seconds, "s")])
    }
}
