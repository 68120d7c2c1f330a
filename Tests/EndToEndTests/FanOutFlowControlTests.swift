import MusterClient
import MusterTestSupport
import Testing

/// A publisher that sends faster than the broker delivers to a subscriber ready to take the
/// messages waits (the broker stops reading its socket) and goes on once fan-out caught up:
/// every message arrives once, in order, and the broker says when publishers waited.
@Suite("publishers wait for fan-out")
struct FanOutFlowControlTests {
    static let count = 3000

    @Test func aPublisherFasterThanFanOutWaitsAndLosesNothing() async throws {
        try await withBroker(settings: "limits: {max-fan-out-lag: 2}") { broker in
            let worker = try await broker.connect("jinshan-public-security")
            let inbox = try await worker.subscribe(to: "/queue/flow", ack: .clientIndividual, headers: ["prefetch-count": "5000"])
            let dispatcher = try await broker.connect("langxia-town")
            // No receipt but the last's: the SENDs go out as fast as the socket takes them.
            for number in 1...Self.count {
                try await dispatcher.publish(to: "/queue/flow", text: "task \(number)", receipt: number == Self.count)
            }
            var bodies: [String] = []
            while bodies.count < Self.count {
                for message in try await inbox.take(min(500, Self.count - bodies.count)) {
                    bodies.append(message.bodyText)
                    try await worker.ack(message)
                }
            }
            #expect(bodies == (1...Self.count).map { "task \($0)" })
            try await eventually("the broker to say publishers read again") { broker.log.contains("publishers read again") }
            #expect(broker.log.contains("publishers wait: fan-out is"), "\(broker.log.suffix(2000))")
        }
    }
}
