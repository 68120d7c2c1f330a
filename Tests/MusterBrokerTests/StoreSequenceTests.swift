import Testing
@testable import MusterBroker

/// A link's sequence seen "queued in order" (what the workflows took from an urgent lane is
/// stored in the order they decided it): not urgent, and broken together with the lane's.
@Suite struct StoreSequenceTests {
    @Test func anUrgentLanesSequenceQueuedInOrderIsNotUrgentAndBreaksWithIt() {
        let lane = StoreSequence(urgent: true)
        let inOrder = lane.queuedInOrder
        #expect(lane.isUrgent && !inOrder.isUrgent)
        inOrder.markBroken()
        #expect(lane.isBroken, "a failed append of the view breaks the lane")
        let other = StoreSequence(urgent: true)
        other.markBroken()
        #expect(other.queuedInOrder.isBroken, "a broken lane's view is broken")
    }

    @Test func aBulkLanesSequenceIsAlreadyInOrder() {
        let lane = StoreSequence()
        #expect(lane.queuedInOrder === lane)
    }
}
