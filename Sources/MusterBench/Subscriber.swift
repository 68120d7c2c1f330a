import MusterStomp

/// One subscription on its own connection: subscribes (and waits for the broker's receipt, so
/// nothing published afterwards is missed), then reads MESSAGE frames and acknowledges them
/// as the ack mode asks. ACKs are written together when the reader would otherwise block.
struct Subscriber {
    enum AckMode: String, Sendable, CaseIterable {
        case auto, client
        case clientIndividual = "client-individual"
    }

    /// In `client` mode, a cumulative ACK goes out every this many messages.
    static let cumulativeAckEvery = 64

    let connection: BenchConnection
    let ackMode: AckMode
    private var unacknowledged = 0
    private var lastID: String?

    init(connection: BenchConnection, ackMode: AckMode) {
        self.connection = connection
        self.ackMode = ackMode
    }

    func subscribe(id: String, destination: String, target: BenchTarget) throws {
        var headers: StompHeaders = ["id": id, "destination": destination, "ack": ackMode.rawValue, "receipt": "subscribed-\(id)"]
        for (name, value) in target.subscribeHeaders { headers.append(name, value) }
        try connection.queue(StompFrame(.subscribe, headers: headers))
        let reply = try connection.nextFrame()
        guard reply.command == .receipt else {
            throw BenchError("expected the RECEIPT for SUBSCRIBE \(destination), got \(reply.command.rawValue)")
        }
    }

    /// Subscribers wait with a read timeout, so that they notice the end of a run.
    func prepareToWait() throws {
        try connection.socket.setReadTimeout(BenchRun.pollInterval)
    }

    /// The next MESSAGE, acknowledged per the ack mode, or nil once `stop` says so. Other
    /// frames (receipts) are skipped.
    mutating func nextMessage(unless stop: () -> Bool) throws -> StompFrame? {
        while let frame = try connection.nextFrame(unless: stop) {
            guard frame.command == .message else { continue }
            try acknowledge(frame)
            return frame
        }
        return nil
    }

    /// Acknowledges what `client` mode still holds, then disconnects once the broker has
    /// handled every frame sent (its receipt for DISCONNECT says so).
    mutating func finish() throws {
        if ackMode == .client, unacknowledged > 0, let lastID {
            try connection.queue(StompFrame(.ack, headers: ["id": lastID]))
            unacknowledged = 0
        }
        connection.disconnect()
    }

    private mutating func acknowledge(_ message: StompFrame) throws {
        guard ackMode != .auto else { return }
        guard let id = message.headers["ack"] ?? message.headers["message-id"] else {
            throw BenchError("a MESSAGE came without an `ack` or `message-id` header, so it cannot be acknowledged")
        }
        unacknowledged += 1
        lastID = id
        if ackMode == .client && unacknowledged < Self.cumulativeAckEvery { return }
        unacknowledged = 0
        try connection.queue(StompFrame(.ack, headers: ["id": id]))
    }
}
