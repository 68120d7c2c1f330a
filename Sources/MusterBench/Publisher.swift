import MusterStomp

/// How a publisher sends: `count` SENDs to one destination, a receipt requested on every
/// `receiptEvery`-th (and on the last), never more than `outstanding` receipts unanswered.
struct PublishPlan: Sendable {
    var destination: String
    var count: Int
    var bodySize: Int
    var receiptEvery: Int
    var outstanding: Int
}

/// Drives one connection through a `PublishPlan`, as fast as the broker answers.
struct Publisher {
    let connection: BenchConnection
    let target: BenchTarget
    let plan: PublishPlan
    let run: BenchRun
    private var pendingReceipts = 0

    init(connection: BenchConnection, target: BenchTarget, plan: PublishPlan, run: BenchRun) {
        self.connection = connection
        self.target = target
        self.plan = plan
        self.run = run
    }

    func frame(body: [UInt8], receipt: String?) -> StompFrame {
        var headers: StompHeaders = ["destination": plan.destination, "content-type": "application/octet-stream"]
        for (name, value) in target.sendHeaders { headers.append(name, value) }
        if let receipt { headers.append("receipt", receipt) }
        return StompFrame(.send, headers: headers, body: body)
    }

    /// Sends the whole plan with the same body and waits for the last receipt.
    mutating func sendAll(tag: String = "p") throws {
        let body = filler(count: plan.bodySize)
        let plain = StompFrameEncoder.encode(frame(body: body, receipt: nil))
        for index in 0..<plan.count {
            if run.isFinished { return }
            if wantsReceipt(index) {
                try send(frame(body: body, receipt: "\(tag)\(index)"), withReceipt: true)
            } else {
                try connection.queue(encoded: plain)
                run.sent.add(1, ordering: .relaxed)
            }
        }
        try finish()
    }

    func wantsReceipt(_ index: Int) -> Bool {
        (index + 1) % plan.receiptEvery == 0 || index == plan.count - 1
    }

    /// Queues one frame; with a receipt, waits while too many receipts are unanswered.
    mutating func send(_ frame: StompFrame, withReceipt: Bool) throws {
        try connection.queue(frame)
        run.sent.add(1, ordering: .relaxed)
        guard withReceipt else { return }
        pendingReceipts += 1
        while pendingReceipts >= plan.outstanding { try awaitReceipt() }
    }

    /// Writes what is queued and waits for every requested receipt.
    mutating func finish() throws {
        try connection.flush()
        while pendingReceipts > 0 { try awaitReceipt() }
    }

    private mutating func awaitReceipt() throws {
        let reply = try connection.nextFrame()
        guard reply.command == .receipt else {
            throw BenchError("a publisher expected only RECEIPT frames, got \(reply.command.rawValue)")
        }
        pendingReceipts -= 1
    }
}

/// A body of `count` printable bytes.
func filler(count: Int) -> [UInt8] {
    (0..<count).map { UInt8(ascii: "a") + UInt8($0 % 26) }
}
