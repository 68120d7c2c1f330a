import Foundation
import MusterClient
import MusterNet
import MusterStomp
import MusterTestSupport
import Testing

@Suite("a live subscriber that falls behind is served from the log", .tags(.heavy))
struct SlowSubscriberTests {
    static let loop: EventLoop = {
        let loop = try! EventLoop(name: "slow-subscriber-client")
        loop.start()
        return loop
    }()

    @Test func subscriberThatStopsReadingGetsEveryMessageInOrderFromTheLogThenLiveAgain() async throws {
        try await withBroker { broker in
            let files = try broker.pki.client("shanta-village-grid")
            let reader = try RawStompClient(address: broker.address, tls: files.tls, loop: Self.loop)
            defer { reader.close() }
            reader.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "muster", "heart-beat": "0,0"]))
            #expect(try reader.nextFrame()?.command == .connected)
            reader.send(StompFrame(.subscribe, headers: ["id": "grid", "destination": "/topic/jinshan.patrol", "receipt": "subscribed"]))
            #expect(try reader.nextFrame()?.headers["receipt-id"] == "subscribed")

            // The reader reads nothing while 24 MiB are published: far more than the
            // connection's 4 MiB allowance plus what the kernel's socket buffers hold.
            let publisher = try await broker.connect("langxia-town")
            let count = 6_000
            let padding = String(repeating: "x", count: 4000)
            for sequence in 0..<count {
                try await publisher.publish(to: "/topic/jinshan.patrol", text: "\(sequence) \(padding)", receipt: sequence % 200 == 199)
            }
            try await eventually("the broker to serve the subscriber from the log") { broker.log.contains("serving it from the log") }

            var offsets: [UInt64] = []
            var sequences: [Int] = []
            while offsets.count < count, let frame = try reader.nextFrame(timeout: 30) {
                guard frame.command == .message else { continue }
                offsets.append(UInt64(frame.headers["x-stream-offset"] ?? "") ?? .max)
                sequences.append(Int(String(decoding: frame.body.prefix { $0 != 0x20 }, as: UTF8.self)) ?? -1)
            }
            let first = BrokerProcess.firstMessageOffset
            #expect(offsets == Array(first..<first + UInt64(count)), "every message once, in log order")
            #expect(sequences == Array(0..<count))

            // Caught up: new messages are pushed live again, with nothing skipped or repeated.
            try await eventually("the subscriber to rejoin live delivery") { broker.log.contains("live delivery again") }
            for sequence in count..<count + 5 {
                try await publisher.publish(to: "/topic/jinshan.patrol", text: "\(sequence) live", receipt: true)
            }
            var live: [UInt64] = []
            while live.count < 5, let frame = try reader.nextFrame() {
                if frame.command == .message { live.append(UInt64(frame.headers["x-stream-offset"] ?? "") ?? .max) }
            }
            #expect(live == Array(first + UInt64(count)..<first + UInt64(count + 5)))
            try await publisher.disconnect()
        }
    }
}
