import MusterClient
import MusterTestSupport
import Testing

@Suite("a quiet broker returns freed memory to the system")
struct MemoryReturnTests {
    static let line = "returned freed memory to the system"

    func returns(in broker: BrokerProcess) -> Int {
        broker.log.components(separatedBy: Self.line).count - 1
    }

    @Test func aBrokerThatWentQuietAfterTrafficReturnsFreedMemoryAndSaysHowMuchItHolds() async throws {
        try await withBroker(settings: "memory-return-quiet-ms: 100") { broker in
            try await eventually("the quiet spell after startup") { returns(in: broker) == 1 }
            let town = try await broker.connect("langxia-town")
            let feed = try await town.subscribe(to: "/topic/joint-patrol")
            for index in 0..<50 {
                try await town.publish(to: "/topic/joint-patrol", text: "巡逻 \(index)", receipt: index == 49)
            }
            #expect(try await feed.take(50).count == 50)
            try await town.disconnect()
            // Only activity starts a new quiet spell: a second return proves the traffic was noticed.
            try await eventually("the quiet spell after the traffic") { returns(in: broker) >= 2 }
            #expect(broker.log.contains("resident-mb-before="), "the broker reports its resident memory before and after")
            #expect(broker.log.contains("resident-mb-after="))
        }
    }

    @Test func turnedOffItNeverReturnsMemory() async throws {
        try await withBroker(settings: "memory-return-quiet-ms: 0") { broker in
            let town = try await broker.connect("langxia-town")
            try await town.publish(to: "/topic/joint-patrol", text: "巡逻", receipt: true)
            try await town.disconnect()
            // Turned off, the broker must log that it is not watching: the only observable without waiting.
            #expect(broker.log.contains("memory-return=off"))
            #expect(returns(in: broker) == 0)
        }
    }
}
