@testable import MusterServer
import MusterProtocol
import Testing

/// Connections per party, and what unfinished frames may hold, and for how long.
@Suite("connection limits")
struct ConnectionLimitsTests {
    static let town = PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")
    static let grid = PartyIdentity(jurisdiction: "jinshan", party: "shanta-village-grid")

    @Test func aPartyHoldsAtMostItsConnections() {
        let limits = ConnectionLimits(.init(maxConnectionsPerParty: 2))
        #expect(limits.admit(Self.town) == nil)
        #expect(limits.admit(Self.town) == nil)
        let refusal = limits.admit(Self.town)
        #expect(refusal?.code == .limitExceeded)
        #expect(refusal?.message.contains("limits.max-connections-per-party") == true)
        #expect(limits.admit(Self.grid) == nil, "another party has its own allowance")
        limits.release(Self.town)
        #expect(limits.admit(Self.town) == nil)
    }

    @Test func unfinishedFramesTogetherStayWithinTheBudget() throws {
        let limits = ConnectionLimits(.init(inboundBufferBytes: 100_000))
        var first = UnfinishedFrame(), second = UnfinishedFrame()
        let now = ContinuousClock.now
        try first.update(buffered: 60_000, now: now, limits: limits)
        #expect(throws: BrokerError.self) { try second.update(buffered: 50_000, now: now, limits: limits) }
        do {
            try second.update(buffered: 50_000, now: now, limits: limits)
        } catch {
            #expect(error.message.contains("limits.max-inbound-buffer-bytes"))
        }
        #expect(limits.inboundBytes == 60_000)
        try first.update(buffered: 0, now: now, limits: limits)  // its frame completed
        try second.update(buffered: 50_000, now: now, limits: limits)
        second.release(limits)
        #expect(limits.inboundBytes == 0)
    }

    @Test func aFrameMustFinishWithinTheTimeoutOfItsFirstByte() throws {
        let limits = ConnectionLimits(.init(frameTimeout: .seconds(30)))
        var frame = UnfinishedFrame()
        let start = ContinuousClock.now
        try frame.update(buffered: 10, now: start, limits: limits)
        try frame.update(buffered: 20, now: start + .seconds(20), limits: limits)  // one more byte now and then
        #expect(frame.overdue(now: start + .seconds(29), limits: limits) == nil)
        let overdue = frame.overdue(now: start + .seconds(31), limits: limits)
        #expect(overdue?.message.contains("limits.frame-timeout") == true)
        try frame.update(buffered: 0, now: start + .seconds(31), limits: limits)
        #expect(frame.overdue(now: start + .seconds(90), limits: limits) == nil, "no frame is unfinished")
    }
}
