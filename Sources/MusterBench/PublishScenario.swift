/// `publish`: publishers send as fast as the broker's receipts allow.
public struct PublishScenario: Sendable {
    public var destination: String
    public var messages: Int
    public var bodySize: Int
    public var receiptEvery: Int
    public var outstanding: Int
    public var publishers: Int

    public init(destination: String, messages: Int, bodySize: Int, receiptEvery: Int, outstanding: Int, publishers: Int = 1) {
        self.destination = destination
        self.messages = messages
        self.bodySize = bodySize
        self.receiptEvery = receiptEvery
        self.outstanding = outstanding
        self.publishers = publishers
    }

    public func run(against target: BenchTarget, showProgress: Bool) throws -> BenchResult {
        let context = try target.makeContext()
        let run = BenchRun(scenario: "publish", showProgress: showProgress)
        let connections = try (0..<publishers).map { _ in try BenchConnection(target: target, context: context) }
        connections.forEach(run.track)
        let shares = split(messages, into: publishers)
        run.startReporter()
        let start = ContinuousClock.now
        run.runThreads(zip(connections, shares).map { connection, share in
            let plan = PublishPlan(destination: destination, count: share, bodySize: bodySize,
                                   receiptEvery: receiptEvery, outstanding: outstanding)
            return { @Sendable in
                var publisher = Publisher(connection: connection, target: target, plan: plan, run: run)
                try publisher.sendAll()
            }
        })
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        run.finish()
        run.waitForReporter()
        try run.check()
        return BenchResult(
            scenario: "publish",
            parameters: "\(messages) × \(bodySize) B to \(destination), receipt every \(receiptEvery), \(outstanding) outstanding, \(publishers) publisher(s)",
            metrics: [BenchMetric("throughput", Double(messages) / seconds, "msg/s"),
                      BenchMetric("messages", Double(messages), "msg"),
                      BenchMetric("seconds", seconds, "s")])
    }
}

/// `total` split into `parts` nearly equal shares.
func split(_ total: Int, into parts: Int) -> [Int] {
    (0..<parts).map { total / parts + ($0 < total % parts ? 1 : 0) }
}
