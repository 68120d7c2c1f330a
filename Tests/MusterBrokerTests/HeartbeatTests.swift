import Testing
@testable import MusterBroker

@Suite("Heart-beats")
struct HeartbeatTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let client: (send: Int, want: Int)
        let server: (send: Int, want: Int)
        let sendEvery: Int
        let expectEvery: Int
        var testDescription: String { "client \(client.send),\(client.want) server \(server.send),\(server.want)" }
    }

    /// STOMP 1.2: the broker sends every max(sx, cy) unless either is 0, and expects
    /// to hear from the client every max(cx, sy) unless either is 0.
    @Test(arguments: [
        Case(client: (0, 0), server: (10_000, 10_000), sendEvery: 0, expectEvery: 0),
        Case(client: (5_000, 0), server: (10_000, 10_000), sendEvery: 0, expectEvery: 10_000),
        Case(client: (0, 5_000), server: (10_000, 10_000), sendEvery: 10_000, expectEvery: 0),
        Case(client: (20_000, 30_000), server: (10_000, 10_000), sendEvery: 30_000, expectEvery: 20_000),
        Case(client: (1_000, 2_000), server: (3_000, 500), sendEvery: 3_000, expectEvery: 1_000),
        Case(client: (1_000, 1_000), server: (0, 0), sendEvery: 0, expectEvery: 0),
        Case(client: (1_000, 1_000), server: (0, 4_000), sendEvery: 0, expectEvery: 4_000),
        Case(client: (1_000, 1_000), server: (4_000, 0), sendEvery: 4_000, expectEvery: 0),
    ])
    func negotiationFollowsTheSpecTable(_ example: Case) {
        let agreement = HeartbeatAgreement.negotiate(client: example.client, server: example.server)
        #expect(agreement == HeartbeatAgreement(sendEvery: example.sendEvery, expectEvery: example.expectEvery))
    }

    @Test(arguments: [("0,0", 0, 0), ("10000,5000", 10_000, 5_000), (" 100 , 200 ", 100, 200)])
    func parseReadsTwoNonNegativeIntegers(text: String, send: Int, want: Int) throws {
        let parsed = try #require(HeartbeatAgreement.parse(text))
        #expect(parsed.send == send)
        #expect(parsed.want == want)
    }

    @Test(arguments: ["", "10000", "1,2,3", "-1,0", "0,-5", "a,1", ",", "1,", "1;2"])
    func parseRejectsAnythingElse(text: String) {
        #expect(HeartbeatAgreement.parse(text) == nil)
    }

    /// The broker beats at half the agreed interval, so a beat a clock tick late still
    /// reaches the peer within the interval it checks.
    @Test func monitorSendsAHeartbeatOnceHalfTheSendIntervalHasPassedWithoutWriting() {
        let monitor = HeartbeatMonitor(agreement: HeartbeatAgreement(sendEvery: 1_000, expectEvery: 0))
        #expect(monitor.decide(sinceRead: 0, sinceWrite: 0) == .idle)
        #expect(monitor.decide(sinceRead: 0, sinceWrite: 499) == .idle)
        #expect(monitor.decide(sinceRead: 0, sinceWrite: 500) == .sendHeartbeat)
        #expect(monitor.decide(sinceRead: 0, sinceWrite: 1_000) == .sendHeartbeat)
        #expect(monitor.decide(sinceRead: 1_000_000, sinceWrite: 5) == .idle)  // reads are not checked
    }

    @Test func monitorToleratesSilenceUpToTheToleranceTimesTheExpectedInterval() {
        let monitor = HeartbeatMonitor(agreement: HeartbeatAgreement(sendEvery: 0, expectEvery: 1_000))
        #expect(monitor.tolerance == 2.0)
        #expect(monitor.decide(sinceRead: 1_500, sinceWrite: 0) == .idle)
        #expect(monitor.decide(sinceRead: 2_000, sinceWrite: 0) == .idle)
        #expect(monitor.decide(sinceRead: 2_001, sinceWrite: 0) == .peerSilent)
        #expect(monitor.decide(sinceRead: 0, sinceWrite: 1_000_000) == .idle)  // sending is off
    }

    @Test func customToleranceMovesTheSilenceLimit() {
        let monitor = HeartbeatMonitor(agreement: HeartbeatAgreement(sendEvery: 0, expectEvery: 1_000), tolerance: 1.5)
        #expect(monitor.decide(sinceRead: 1_500, sinceWrite: 0) == .idle)
        #expect(monitor.decide(sinceRead: 1_501, sinceWrite: 0) == .peerSilent)
    }

    @Test func peerSilenceWinsOverSendingAHeartbeat() {
        let monitor = HeartbeatMonitor(agreement: HeartbeatAgreement(sendEvery: 1_000, expectEvery: 1_000))
        #expect(monitor.decide(sinceRead: 5_000, sinceWrite: 5_000) == .peerSilent)
        #expect(monitor.decide(sinceRead: 1_000, sinceWrite: 5_000) == .sendHeartbeat)
        #expect(monitor.decide(sinceRead: 1_000, sinceWrite: 100) == .idle)
    }

    @Test func zeroAgreementNeverActs() {
        let monitor = HeartbeatMonitor(agreement: HeartbeatAgreement(sendEvery: 0, expectEvery: 0))
        #expect(monitor.decide(sinceRead: Int.max / 2, sinceWrite: Int.max / 2) == .idle)
    }
}
