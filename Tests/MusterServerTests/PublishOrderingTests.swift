import MusterBroker
import MusterProtocol
@testable import MusterServer
import MusterStomp
import Testing

/// While a connection's SENDs are not yet stored, what must come after them waits: a SUBSCRIBE
/// (it would see them), and an ERROR, a RECEIPT or a close (they would overtake their RECEIPTs).
@Suite("publish ordering")
struct PublishOrderingTests {
    static let error = SessionAction.send(.error(BrokerError(.notAuthorized, "refused")))

    @Test(arguments: [error, .send(.receipt("r-1")), .close])
    func anAnswerWaitsForTheConnectionsEarlierSends(action: SessionAction) {
        let ordering = PublishOrdering()
        ordering.publishing()
        #expect(ordering.hold(action))
        #expect(ordering.release().isEmpty, "nothing released while the SEND is in flight")
        #expect(ordering.finished(), "the last SEND stored: release the held actions")
        #expect(ordering.release().count == 1)
    }

    @Test func withNoSendInFlightNothingWaits() {
        let ordering = PublishOrdering()
        #expect(!ordering.hold(Self.error))
        #expect(!ordering.hold(.close))
    }

    @Test func everythingAfterAHeldActionWaitsToo() {
        let ordering = PublishOrdering()
        ordering.publishing()
        #expect(ordering.hold(Self.error))
        #expect(ordering.hold(.unsubscribe(id: "s", durable: false, receipt: nil)), "held because something before it is")
        #expect(ordering.hold(.close))
        _ = ordering.finished()
        #expect(ordering.release().count == 3)
    }
}
