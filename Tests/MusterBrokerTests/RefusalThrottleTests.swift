import Testing
@testable import MusterBroker
import MusterProtocol

/// Refused connections are recorded once per kind and interval, with a summary of the repeats.
@Suite("Refusal throttle")
struct RefusalThrottleTests {
    static func refusedConnection(from source: String, rule: String = "parties file: jurisdiction jinshan crl") -> PolicyRefusal {
        PolicyRefusal(BrokerError(.identityRefused, "revoked"), rule: rule, party: langxiaTown, source: source)
    }

    @Test func theFirstOfAKindIsRecordedTheRepeatsCountedAndSummedUpWhenTheIntervalEnds() {
        var throttle = RefusalThrottle(intervalMilliseconds: 60_000)
        let retrying = Self.refusedConnection(from: "10.0.0.7")
        var recorded: [Bool] = []
        for second in 0..<20 { recorded.append(throttle.admit(retrying, now: Int64(second) * 1000)) }
        #expect(recorded == [true] + Array(repeating: false, count: 19))
        let early = throttle.due(now: 59_999)
        #expect(early.isEmpty, "the interval has not ended")
        let summaries = throttle.due(now: 60_000)
        #expect(summaries.count == 1)
        #expect(summaries.first?.repeated == 19)
        #expect(summaries.first?.since == 0)
        #expect(summaries.first?.first.source == "10.0.0.7")
        let later = throttle.due(now: 120_000)
        #expect(later.isEmpty, "a summary is written once")
        let again = throttle.admit(retrying, now: 120_001)
        #expect(again, "a new interval records the first again")
    }

    @Test func kindsAreTheirOwn() {
        var throttle = RefusalThrottle(intervalMilliseconds: 60_000)
        let recorded = [throttle.admit(Self.refusedConnection(from: "10.0.0.7"), now: 0),
                        throttle.admit(Self.refusedConnection(from: "10.0.0.8"), now: 1),
                        throttle.admit(Self.refusedConnection(from: "10.0.0.7", rule: "TLS handshake"), now: 2),
                        throttle.admit(Self.refusedConnection(from: "10.0.0.7"), now: 3)]
        #expect(recorded == [true, true, true, false], "another source, another rule, then a repeat")
        let summaries = throttle.due(now: 60_003)
        #expect(summaries.map(\.repeated) == [1])
    }

    @Test func refusalsOfMessagesAreEachRecorded() {
        var throttle = RefusalThrottle(intervalMilliseconds: 60_000)
        let refusal = PolicyRefusal(BrokerError(.notAuthorized, "no"), rule: "topics[0]", party: langxiaTown)
        var recorded: [Bool] = []
        for time in 0..<5 { recorded.append(throttle.admit(refusal, now: Int64(time))) }
        #expect(recorded == Array(repeating: true, count: 5))
        let summaries = throttle.due(now: 1_000_000)
        #expect(summaries.isEmpty)
    }
}
