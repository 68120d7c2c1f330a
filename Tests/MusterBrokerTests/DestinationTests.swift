import MusterBroker
import Testing
@testable import MusterProtocol

@Suite("destination names")
struct DestinationTests {
    @Test(arguments: ["/topic/summons", "/queue/inbox.shanta-village-grid", "/topic/grid/langxia_2", "/queue/a.b-c_d/E9",
                      "/topic/网格.巡查", "/queue/廊下镇/报到"])
    func acceptsSegmentsOfLettersDigitsAndPunctuation(_ text: String) throws {
        let destination = try Destination(parsing: text)
        #expect(destination.description == text)
    }

    @Test(arguments: ["/topic/", "/queue//a", "/topic/a/", "/topic/a//b", "/topic/a b", "/queue/a:b", "/topic/a*", "/topic/网格 巡查",
                      "/topic/网格//巡查", "/exchange/a", "topic/a"])
    func refusesEmptySegmentsAndOtherCharacters(_ text: String) {
        #expect(throws: BrokerError.self) { try Destination(parsing: text) }
    }

    @Test func refusesNamesLongerThan200Bytes() throws {
        _ = try Destination(parsing: "/queue/" + String(repeating: "a", count: 200))
        #expect(throws: BrokerError.self) { try Destination(parsing: "/queue/" + String(repeating: "a", count: 201)) }
    }

    @Test func equalityAndHashingFollowKindAndName() throws {
        let parsed = try Destination(parsing: "/queue/complaints")
        #expect(parsed == Destination(kind: .queue, name: "complaints"))
        #expect(parsed != Destination(kind: .topic, name: "complaints"))
        #expect(Set([parsed, Destination(kind: .queue, name: "complaints")]).count == 1)
    }
}
