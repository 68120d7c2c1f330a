import MusterFederation
import Testing

@Suite("when the exporter records how far a peer acknowledged")
struct AcknowledgementEvidenceTests {
    let up = ContinuousClock.now

    @Test func nothingIsRecordedBeforeAnIntervalHasPassedSinceTheLinkCameUp() {
        var evidence = AcknowledgementEvidence(interval: .seconds(10), linkUp: up)
        #expect(evidence.due(acknowledgedThrough: 5, now: up + .seconds(9)) == nil)
        #expect(evidence.due(acknowledgedThrough: 5, now: up + .seconds(10)) == 5)
    }

    @Test func aPositionIsRecordedOnceAndAgainOnlyWhenItMovedAndAnotherIntervalPassed() {
        var evidence = AcknowledgementEvidence(interval: .seconds(10), linkUp: up)
        #expect(evidence.due(acknowledgedThrough: 5, now: up + .seconds(11)) == 5)
        #expect(evidence.due(acknowledgedThrough: 5, now: up + .seconds(30)) == nil, "the position did not move")
        #expect(evidence.due(acknowledgedThrough: 9, now: up + .seconds(30)) == 9)
        #expect(evidence.due(acknowledgedThrough: 12, now: up + .seconds(35)) == nil, "within the interval of the last record")
        #expect(evidence.due(acknowledgedThrough: 12, now: up + .seconds(40)) == 12)
    }

    @Test func aPeerThatAcknowledgedNothingLeavesNothingToRecord() {
        var evidence = AcknowledgementEvidence(interval: .milliseconds(1), linkUp: up)
        #expect(evidence.due(acknowledgedThrough: nil, now: up + .seconds(60)) == nil)
    }
}
