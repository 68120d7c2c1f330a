import Foundation
import MusterClient
import MusterLog
import MusterNet
import MusterStomp
import MusterTestSupport
import Testing

/// Replay subscriptions (`x-stream-offset`, `muster-until`) against a real `muster serve`
/// whose log has small segments, so every range crosses segment boundaries.
@Suite("replay from the durable log through a real broker process")
struct ReplayTests {
    static let settings = "log: {segment-size: 64KiB}"
    static let topic = "/topic/replay.patrol"
    static let other = "/topic/replay.other"

    static let loop: EventLoop = {
        Socket.ignoreBrokenPipeSignal()
        let loop = try! EventLoop(name: "replay-test-client")
        loop.start()
        return loop
    }()

    // MARK: Offsets and timestamps on every message

    @Test func liveMessagesCarryTheirLogOffsetAndTimestamp() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let before = LogClock.milliseconds()
            let seeded = try await Seeded.publish(to: broker)
            let after = LogClock.milliseconds()
            // A fresh log (after the broker's identity record): the two destinations' messages share one gap-free sequence of offsets.
            #expect(seeded.records.map(\.offset) == Array(BrokerProcess.firstMessageOffset..<UInt64(seeded.end)))
            #expect(seeded.records.allSatisfy { $0.timestamp >= before && $0.timestamp <= after })
            #expect(zip(seeded.records, seeded.records.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp })
            #expect(try segmentCount(broker) >= 4, "the seeded log should span several 64 KiB segments")
        }
    }

    // MARK: By offset

    @Test func replayByOffsetAcrossSegmentsDeliversTheRangeAndEndsWithTheMarker() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let patrol = seeded.of(Self.topic)
            // From another destination's record in an early segment to a patrol record in a late one.
            let start = try #require(seeded.of(Self.other).dropFirst(3).first).offset
            let last = patrol[patrol.count - 20].offset
            let expected = patrol.filter { $0.offset >= start && $0.offset <= last }

            let replay = try await rawReplay(broker, headers: ["x-stream-offset": "offset=\(start)", "muster-until": "offset=\(last)"])
            #expect(replay.messages.map(\.offset) == expected.map(\.offset))
            #expect(replay.messages.map(\.body) == expected.map(\.body))
            #expect(replay.messages.map(\.timestamp) == expected.map(\.timestamp))
            #expect(replay.messages.allSatisfy { $0.frame.headers["muster-sender"] == "langxia-town"
                        && $0.frame.headers["muster-sender-jurisdiction"] == "jinshan"
                        && $0.frame.headers["destination"] == Self.topic && $0.frame.headers["subscription"] == "replay" })
            #expect(replay.end.headers["receipt-id"] == "muster-end:replay")
            #expect(replay.end.headers["subscription"] == "replay")
            #expect(replay.end.headers["destination"] == Self.topic)
            #expect(replay.end.headers["muster-end-offset"] == String(last + 1))
            #expect(replay.end.headers["muster-replayed"] == String(expected.count))
        }
    }

    @Test func untilAnotherDestinationsOffsetStillEndsRightAfterIt() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let start = seeded.of(Self.topic)[10].offset
            let last = seeded.of(Self.other)[30].offset
            let expected = seeded.of(Self.topic).filter { $0.offset >= start && $0.offset <= last }
            let replay = try await rawReplay(broker, headers: ["x-stream-offset": "offset=\(start)", "muster-until": "offset=\(last)"])
            #expect(replay.messages.map(\.offset) == expected.map(\.offset))
            #expect(replay.end.headers["muster-end-offset"] == String(last + 1))
            #expect(replay.end.headers["muster-replayed"] == String(expected.count))
        }
    }

    // MARK: first, last, next

    @Test func firstWithUntilHeadReplaysEverythingAndTheClientStreamEndsAtTheMarker() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let patrol = seeded.of(Self.topic)

            // The Swift client: the subscription's stream finishes at the end marker.
            let reader = try await broker.connect("discipline-inspector")
            let subscription = try await reader.subscribe(to: Self.topic, headers: ["x-stream-offset": "first", "muster-until": "head"])
            let received = try await within(.seconds(30), "the replay stream to end") {
                var messages: [ReceivedMessage] = []
                for try await message in subscription { messages.append(message) }
                return messages
            }
            #expect(received.map { $0.headers["x-stream-offset"] } == patrol.map { String($0.offset) })
            #expect(received.map(\.body) == patrol.map(\.body))
            #expect(received.map { $0.headers["muster-timestamp"] } == patrol.map { String($0.timestamp) })
            try await reader.disconnect()

            // A raw client sees the marker's numbers: the head was the newest record at SUBSCRIBE.
            let replay = try await rawReplay(broker, headers: ["x-stream-offset": "first", "muster-until": "head"])
            #expect(replay.messages.map(\.offset) == patrol.map(\.offset))
            #expect(replay.end.headers["muster-end-offset"] == String(seeded.end))
            #expect(replay.end.headers["muster-replayed"] == String(patrol.count))
        }
    }

    @Test func lastStartsAtTheNewestMessageOfTheDestinationAndThenFollowsNewOnes() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            // The log's newest record belongs to the other destination; `last` is per destination.
            let newest = try #require(seeded.of(Self.topic).last)
            #expect(seeded.records.last?.destination == Self.other)

            let reader = try await broker.connect("discipline-inspector")
            let feed = try await reader.subscribe(to: Self.topic, headers: ["x-stream-offset": "last"])
            let publisher = try await broker.connect("langxia-town")
            try await publisher.publish(to: Self.topic, text: "after last", receipt: true)
            let messages = try await feed.take(2)
            #expect(messages.map { $0.headers["x-stream-offset"] } == [String(newest.offset), String(seeded.end)])
            #expect(messages.map(\.body) == [newest.body, Array("after last".utf8)])
        }
    }

    @Test func nextDeliversOnlyMessagesAppendedAfterTheSubscribe() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let reader = try await broker.connect("discipline-inspector")
            let feed = try await reader.subscribe(to: Self.topic, headers: ["x-stream-offset": "next"])
            let publisher = try await broker.connect("langxia-town")
            try await publisher.publish(to: Self.other, text: "elsewhere", receipt: true)
            try await publisher.publish(to: Self.topic, text: "new one", receipt: true)
            // Had any old message been replayed, it would come first (replays go in log order).
            let message = try #require(try await feed.take(1).first)
            #expect(message.bodyText == "new one")
            #expect(message.headers["x-stream-offset"] == String(seeded.end + 1))
        }
    }

    @Test func nextWithUntilHeadOnAnIdleLogEndsAtOnceWithNothingReplayed() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let replay = try await rawReplay(broker, headers: ["x-stream-offset": "next", "muster-until": "head"])
            #expect(replay.messages.isEmpty)
            #expect(replay.end.headers["muster-end-offset"] == String(seeded.end))
            #expect(replay.end.headers["muster-replayed"] == "0")
        }
    }

    // MARK: By time

    @Test func replayOfATimeRangeAcrossSegmentsDeliversExactlyThatRange() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            // Batches are stamped in separate milliseconds: [start of batch 1, start of batch 2) is batch 1.
            let batchStart = try #require(seeded.records.first { $0.batch == 1 })
            let nextBatchStart = try #require(seeded.records.first { $0.batch == 2 })
            let expected = seeded.of(Self.topic).filter { $0.batch == 1 }
            #expect(expected.count > 64, "the range should be larger than one segment")

            let replay = try await rawReplay(broker, headers: [
                "x-stream-offset": "timestamp=\(seconds(batchStart.timestamp))",
                "muster-until": "timestamp=\(seconds(nextBatchStart.timestamp))",
            ])
            #expect(replay.messages.map(\.offset) == expected.map(\.offset))
            #expect(replay.messages.map(\.body) == expected.map(\.body))
            #expect(replay.end.headers["muster-end-offset"] == String(nextBatchStart.offset))
            #expect(replay.end.headers["muster-replayed"] == String(expected.count))
        }
    }

    @Test func replayFromATimestampStartsAtTheFirstMessageStampedAtOrAfterIt() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let from = try #require(seeded.records.first { $0.batch == 2 })
            let expected = seeded.of(Self.topic).filter { $0.batch == 2 }
            let reader = try await broker.connect("discipline-inspector")
            let feed = try await reader.subscribe(to: Self.topic, headers: ["x-stream-offset": "timestamp=\(seconds(from.timestamp))"])
            let messages = try await feed.take(expected.count)
            #expect(messages.map { $0.headers["x-stream-offset"] } == expected.map { String($0.offset) })
            #expect(messages.map { $0.headers["muster-timestamp"] } == expected.map { String($0.timestamp) })
        }
    }

    // MARK: Acknowledgements

    @Test func clientIndividualAcksOpenThePrefetchWindowOneMessageAtATime() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let patrol = seeded.of(Self.topic)
            let files = try broker.pki.client("discipline-inspector")
            let client = try await runBlocking { try RawStompClient(address: broker.address, tls: files.tls, loop: Self.loop) }
            defer { client.close() }
            let first = try await runBlocking { () throws -> [StompFrame] in
                try connect(client)
                client.send(StompFrame(.subscribe, headers: [
                    "id": "audit", "destination": Self.topic, "ack": "client-individual", "prefetch-count": "5",
                    "x-stream-offset": "first", "muster-until": "head", "receipt": "subscribed",
                ]))
                // The window's five, then a live subscription with a receipt: the replay wrote the
                // window in one go from one read of the log, so a sixth message would be in front of it.
                let window = try frames(client, untilMessages: 5)
                client.send(StompFrame(.subscribe, headers: ["id": "probe", "destination": "/topic/replay.probe", "receipt": "probe-1"]))
                return try window + frames(client, until: "probe-1")
            }
            #expect(first.map(\.command) == [.receipt] + Array(repeating: .message, count: 5) + [.receipt])
            var window = first.filter { $0.command == .message }
            #expect(window.map { $0.headers["x-stream-offset"] } == patrol.prefix(5).map { String($0.offset) })
            #expect(window.allSatisfy { $0.headers["ack"] == "r1.\($0.headers["x-stream-offset"] ?? "")" })
            try #require(window.count == 5)

            // Acknowledging the third (not the oldest) opens room for exactly one more.
            let third = try #require(window[2].headers["ack"])
            let afterOne = try await runBlocking {
                client.send(StompFrame(.ack, headers: ["id": third, "receipt": "ack-1"]))
                return try frames(client, until: "ack-1")
            }
            #expect(afterOne.map(\.command) == [.message, .receipt])
            #expect(afterOne.first?.headers["x-stream-offset"] == String(patrol[5].offset))
            window.remove(at: 2)
            window += afterOne.filter { $0.command == .message }

            // Acknowledge the rest as they come, until the end marker.
            let pending = window.compactMap { $0.headers["ack"] }
            let rest = try await runBlocking { () throws -> (offsets: [String], end: StompFrame) in
                for ackID in pending { client.send(StompFrame(.ack, headers: ["id": ackID])) }
                var offsets: [String] = []
                while true {
                    guard let frame = try client.nextFrame(timeout: 15) else {
                        throw TimedOut(what: "more replayed messages after \(offsets.count)")
                    }
                    switch frame.command {
                    case .message:
                        offsets.append(frame.headers["x-stream-offset"] ?? "")
                        client.send(StompFrame(.ack, headers: ["id": frame.headers["ack"] ?? ""]))
                    case .receipt:
                        return (offsets, frame)
                    default:
                        throw UnexpectedFrame(frame: frame)
                    }
                }
            }
            let delivered = first.filter { $0.command == .message } + afterOne.filter { $0.command == .message }
            #expect(delivered.compactMap { $0.headers["x-stream-offset"] } + rest.offsets == patrol.map { String($0.offset) })
            #expect(rest.offsets == patrol.dropFirst(6).map { String($0.offset) })
            #expect(rest.end.headers["receipt-id"] == "muster-end:audit")
            #expect(rest.end.headers["muster-replayed"] == String(patrol.count))

            // A delivery already settled cannot be acknowledged again.
            let refusal = try await runBlocking {
                client.send(StompFrame(.ack, headers: ["id": third, "receipt": "again"]))
                return try client.nextFrame()
            }
            #expect(refusal?.command == .error)
            #expect(refusal?.headers["muster-error-code"] == "unknown-ack")
            #expect(refusal?.headers["receipt-id"] == "again")
        }
    }

    @Test func clientAckOnAReplaySettlesTheNamedDeliveryAndEveryEarlierOne() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let patrol = seeded.of(Self.topic)
            let reader = try await broker.connect("discipline-inspector")
            let subscription = try await reader.subscribe(to: Self.topic, ack: .client,
                                                          headers: ["x-stream-offset": "first", "muster-until": "head", "prefetch-count": "4"])
            let received = try await within(.seconds(30), "the replay with cumulative acks") {
                var messages: [ReceivedMessage] = []
                for try await message in subscription {
                    messages.append(message)
                    // Only every 4th is acknowledged: with prefetch 4 the replay goes on only if
                    // that ack settles the three before it too.
                    if messages.count % 4 == 0 { try await reader.ack(message, receipt: true) }
                }
                return messages
            }
            #expect(received.map { $0.headers["x-stream-offset"] } == patrol.map { String($0.offset) })
            #expect(received.allSatisfy { $0.ackID?.hasPrefix("r") == true })
        }
    }

    // MARK: Restart

    @Test func theLogSurvivesABrokerRestartAndReplaysIdentically() async throws {
        let first = try await runBlocking { try BrokerProcess.start(settings: Self.settings) }
        var current = first
        defer { current.stop() }
        do {
            let seeded = try await Seeded.publish(to: first)
            #expect(first.stop(removingDirectory: false) == 0)
            current = try first.restart()

            let reader = try await current.connect("discipline-inspector")
            let subscription = try await reader.subscribe(to: Self.topic, headers: ["x-stream-offset": "first", "muster-until": "head"])
            let received = try await within(.seconds(30), "the replay after the restart") {
                var messages: [ReceivedMessage] = []
                for try await message in subscription { messages.append(message) }
                return messages
            }
            let patrol = seeded.of(Self.topic)
            #expect(received.map { $0.headers["x-stream-offset"] } == patrol.map { String($0.offset) })
            #expect(received.map { $0.headers["muster-timestamp"] } == patrol.map { String($0.timestamp) })
            #expect(received.map(\.body) == patrol.map(\.body))
            #expect(received.allSatisfy { $0.sender == "langxia-town" && $0.senderJurisdiction == "jinshan" && $0.headers["index"] != nil })

            // New messages continue the offsets where the old process stopped.
            let live = try await reader.subscribe(to: Self.topic)
            let publisher = try await current.connect("langxia-town")
            try await publisher.publish(to: Self.topic, text: "after the restart", receipt: true)
            #expect(try await live.take(1).first?.headers["x-stream-offset"] == String(seeded.end))

            // And after a SIGKILL too: the receipted message is there, after the old ones.
            let beforeKill = current
            beforeKill.kill()
            current = try beforeKill.restart()
            let afterKill = try await rawReplay(current, headers: ["x-stream-offset": "first", "muster-until": "head"])
            #expect(afterKill.messages.map(\.offset) == patrol.map(\.offset) + [UInt64(seeded.end)])
            #expect(afterKill.messages.last?.body == Array("after the restart".utf8))
            #expect(afterKill.end.headers["muster-end-offset"] == String(seeded.end + 1))
        } catch {
            Issue.record("broker output before the restart:\n\(first.log)\n--- after ---\n\(current.log)")
            throw error
        }
    }

    // MARK: stomp.py

    @Test func stompPyReplaysWithRabbitMQStreamHeadersAckingEachMessageUntilTheEndMarker() async throws {
        try await withBroker(settings: Self.settings) { broker in
            let seeded = try await Seeded.publish(to: broker)
            let patrol = seeded.of(Self.topic)
            #expect(patrol.count > 10, "more messages than the prefetch window, so that progress needs the acks")
            let files = try broker.pki.client("discipline-inspector")
            let result = try await PythonScript.run("stomp_replay.py", [broker.address.host, String(broker.address.port), files.certificate,
                                                                        files.key, files.authority, Self.topic])
            #expect(result.status == 0, "stomp.py replay failed:\n\(result.output)")
            let report = try #require(PythonScript.jsonLines(result.stdout).last, "no JSON report from stomp_replay.py:\n\(result.output)")
            #expect(report["offsets"] as? [Int] == patrol.map { Int($0.offset) })
            #expect(report["bodies"] as? [String] == patrol.map { String(decoding: $0.body, as: UTF8.self) })
            #expect(report["end_offset"] as? String == String(seeded.end))
            #expect(report["replayed"] as? String == String(patrol.count))
            #expect(report["acked"] as? Int == patrol.count)
            #expect((report["errors"] as? [String])?.isEmpty == true)
        }
    }
}

// MARK: - Seeded messages

/// What the seeding published, as the live subscribers saw it (offset and time from the broker).
struct SeededRecord: Sendable {
    let destination: String
    let offset: UInt64
    let timestamp: Int64
    let body: [UInt8]
    /// 0, 1 or 2: each batch is stamped in later milliseconds than the previous one.
    let batch: Int
}

struct Seeded: Sendable {
    /// Every record of the log, in offset order.
    let records: [SeededRecord]

    func of(_ destination: String) -> [SeededRecord] { records.filter { $0.destination == destination } }
    /// The log's end offset after seeding (a new log starts with the broker's identity record).
    var end: Int { Int(BrokerProcess.firstMessageOffset) + records.count }

    static let batches = 3
    static let perBatch = 150

    /// Three batches of ~1 KB messages, two in three to the patrol topic and one to the other,
    /// with the broker's clock passing between batches. About 450 KB: seven or more 64 KiB segments.
    static func publish(to broker: BrokerProcess) async throws -> Seeded {
        let listener = try await broker.connect("jinshan-public-security")
        let patrolFeed = try await listener.subscribe(to: ReplayTests.topic)
        let otherFeed = try await listener.subscribe(to: ReplayTests.other)
        let publisher = try await broker.connect("langxia-town")
        var records: [SeededRecord] = []
        for batch in 0..<batches {
            var patrolCount = 0
            for index in 0..<perBatch {
                let destination = index % 3 == 2 ? ReplayTests.other : ReplayTests.topic
                if destination == ReplayTests.topic { patrolCount += 1 }
                let text = "batch \(batch) message \(index) to \(destination) "
                let body = text + String(repeating: "巡", count: (1000 - text.utf8.count) / 3)
                // Receipts come in order: the batch's last one covers every earlier SEND.
                try await publisher.publish(to: destination, text: body, headers: ["index": "\(batch).\(index)"],
                                            receipt: index == perBatch - 1)
            }
            let received = try await patrolFeed.take(patrolCount) + otherFeed.take(perBatch - patrolCount)
            for message in received {
                let offset = try #require(message.headers["x-stream-offset"].flatMap { UInt64($0) }, "a MESSAGE without x-stream-offset")
                let timestamp = try #require(message.headers["muster-timestamp"].flatMap { Int64($0) }, "a MESSAGE without muster-timestamp")
                records.append(SeededRecord(destination: message.destination, offset: offset, timestamp: timestamp, body: message.body, batch: batch))
            }
            let newest = records.map(\.timestamp).max() ?? 0
            try await eventually("the clock to pass the batch's last stamp") { LogClock.milliseconds() > newest }
        }
        try await listener.disconnect()
        try await publisher.disconnect()
        return Seeded(records: records.sorted { $0.offset < $1.offset })
    }
}

// MARK: - Helpers

/// A MESSAGE read by a raw client, with its offset and time parsed.
struct RawMessage {
    let frame: StompFrame
    var offset: UInt64 { UInt64(frame.headers["x-stream-offset"] ?? "") ?? .max }
    var timestamp: Int64 { Int64(frame.headers["muster-timestamp"] ?? "") ?? .min }
    var body: [UInt8] { frame.body }
}

/// Subscribes with `headers` through a raw STOMP client and collects MESSAGE frames up to
/// the end marker (`ack:auto`), which it returns too.
func rawReplay(_ broker: BrokerProcess, destination: String = ReplayTests.topic, headers: [String: String])
    async throws -> (messages: [RawMessage], end: StompFrame) {
    let files = try broker.pki.client("discipline-inspector")
    return try await runBlocking { () throws -> (messages: [RawMessage], end: StompFrame) in
        let client = try RawStompClient(address: broker.address, tls: files.tls, loop: ReplayTests.loop)
        defer { client.close() }
        try connect(client)
        var subscribe: StompHeaders = ["id": "replay", "destination": destination, "receipt": "subscribed"]
        for (name, value) in headers { subscribe[name] = value }
        client.send(StompFrame(.subscribe, headers: subscribe))
        var messages: [RawMessage] = []
        while true {
            guard let frame = try client.nextFrame(timeout: 30) else {
                throw TimedOut(what: "the end marker after \(messages.count) messages")
            }
            switch frame.command {
            case .message:
                messages.append(RawMessage(frame: frame))
            case .receipt where frame.headers["receipt-id"] == "subscribed":
                continue
            case .receipt:
                return (messages, frame)
            default:
                throw UnexpectedFrame(frame: frame)
            }
        }
    }
}

struct UnexpectedFrame: Error, CustomStringConvertible {
    let frame: StompFrame
    var description: String { "unexpected \(frame.command) frame: \(frame.headers.entries) \(frame.bodyText)" }
}

/// Sends CONNECT and expects CONNECTED.
func connect(_ client: RawStompClient) throws {
    client.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "127.0.0.1"]))
    guard let connected = try client.nextFrame(), connected.command == .connected else {
        throw TimedOut(what: "CONNECTED")
    }
}

/// Frames up to and including the RECEIPT `receipt`.
func frames(_ client: RawStompClient, until receipt: String) throws -> [StompFrame] {
    var frames: [StompFrame] = []
    while true {
        guard let frame = try client.nextFrame(timeout: 15) else { throw TimedOut(what: "RECEIPT \(receipt) after \(frames.count) frames") }
        frames.append(frame)
        if frame.command == .receipt, frame.headers["receipt-id"] == receipt { return frames }
        if frame.command == .error { throw UnexpectedFrame(frame: frame) }
    }
}

/// Frames until the `count`th MESSAGE (failing on an ERROR).
func frames(_ client: RawStompClient, untilMessages count: Int) throws -> [StompFrame] {
    var frames: [StompFrame] = []
    while frames.filter({ $0.command == .message }).count < count {
        guard let frame = try client.nextFrame(timeout: 15) else { throw TimedOut(what: "\(count) MESSAGE frames after \(frames.count) frames") }
        if frame.command == .error { throw UnexpectedFrame(frame: frame) }
        frames.append(frame)
    }
    return frames
}

/// Milliseconds since 1970 as the UNIX-SECONDS a bound takes ("1763700000.250").
func seconds(_ milliseconds: Int64) -> String {
    let fraction = String(milliseconds % 1000)
    return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

func segmentCount(_ broker: BrokerProcess) throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: LogOptions.logDirectory(in: broker.dataDirectory))
        .filter { $0.hasSuffix(".log") }.count
}

