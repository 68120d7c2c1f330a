import Testing
@testable import MusterBroker
@testable import MusterProtocol

@Suite("Destination patterns")
struct DestinationPatternTests {
    private func matches(_ pattern: String, _ destination: String) throws -> Bool {
        try DestinationPattern(pattern).matches(try Destination(parsing: destination))
    }

    @Test func exactPatternMatchesOnlyItself() throws {
        #expect(try matches("/topic/summons", "/topic/summons"))
        #expect(try !matches("/topic/summons", "/topic/summons.x"))
        #expect(try !matches("/topic/summons", "/queue/summons"))
    }

    @Test func starMatchesWithinOneSegment() throws {
        #expect(try matches("/topic/joint.*", "/topic/joint.op-15"))
        #expect(try !matches("/topic/joint.*", "/topic/joint."))
        #expect(try !matches("/topic/joint.*", "/topic/joint.op/15"))
    }

    @Test func doubleStarMatchesAcrossSegments() throws {
        #expect(try matches("/topic/**", "/topic/a/b.c"))
        #expect(try !matches("/topic/**", "/queue/a"))
    }

    @Test func partyPlaceholderBindsOnePartyID() throws {
        let pattern = try DestinationPattern("/queue/inbox.{party}")
        let match = pattern.match(try Destination(parsing: "/queue/inbox.shanta-village-grid"))
        #expect(match.matched)
        #expect(match.party == "shanta-village-grid")
        #expect(!pattern.matches(try Destination(parsing: "/queue/inbox.a.b")), "a party id has no dot")
        #expect(!pattern.matches(try Destination(parsing: "/queue/inbox.x/y")))
    }

    @Test func refusesOtherPlaceholdersAndPrefixes() {
        #expect(throws: BrokerError.self) { try DestinationPattern("/queue/inbox.{jurisdiction}") }
        #expect(throws: BrokerError.self) { try DestinationPattern("inbox.*") }
    }
}
