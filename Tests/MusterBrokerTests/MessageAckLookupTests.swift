import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

/// STOMP 1.0 and 1.1 ACK by `message-id`: the broker finds the delivery it names.
@Suite("Acknowledging by message (STOMP 1.0 and 1.1)")
struct MessageAckLookupTests {
    @Test func findsTheSessionsUnsettledDeliveryOfTheMessage() throws {
        var core = BrokerCore()
        core.attach(sessionID: 1, party: langxiaTown)
        core.attach(sessionID: 2, party: guangchenTown)
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .clientIndividual)
        _ = try core.subscribe(1, "b", to: patrolTopic, mode: .clientIndividual)
        _ = try core.subscribe(2, "c", to: patrolTopic, mode: .clientIndividual)
        _ = core.publish(to: patrolTopic, in: &log)
        _ = core.publish(to: patrolTopic, in: &log)
        let deliveries = core.pump(log).deliveries
        let ackIDs = Dictionary(uniqueKeysWithValues: deliveries.map { ("\($0.sessionID)/\($0.subscriptionID) \($0.message.offset)", $0.ackID!) })

        #expect(core.ackID(sessionID: 1, subscriptionID: "b", offset: 1) == ackIDs["1/b 1"])
        #expect(core.ackID(sessionID: 2, subscriptionID: nil, offset: 0) == ackIDs["2/c 0"])
        // Without a subscription (STOMP 1.0), the oldest delivery of the message on the connection.
        #expect(core.ackID(sessionID: 1, subscriptionID: nil, offset: 0) == min(ackIDs["1/a 0"]!, ackIDs["1/b 0"]!))
        #expect(core.ackID(sessionID: 1, subscriptionID: "c", offset: 0) == nil, "another connection's subscription")
        #expect(core.ackID(sessionID: 1, subscriptionID: "a", offset: 7) == nil, "a message never delivered")

        _ = try core.acknowledge(sessionID: 1, ackID: String(ackIDs["1/a 0"]!), now: 0)
        #expect(core.ackID(sessionID: 1, subscriptionID: "a", offset: 0) == nil, "a settled delivery")
        #expect(core.ackID(sessionID: 1, subscriptionID: nil, offset: 0) == ackIDs["1/b 0"])
    }

    @Test func aRedeliveredMessageIsFoundUnderItsNewAckID() throws {
        var core = BrokerCore()
        core.attach(sessionID: 1, party: langxiaTown)
        var log = TestLog()
        _ = try core.subscribe(1, "a", to: patrolTopic, mode: .clientIndividual)
        _ = core.publish(to: patrolTopic, in: &log)
        let first = try #require(core.pump(log).deliveries.first)
        let again = try #require(try core.reject(1, first, requeue: true).deliveries.first)
        #expect(core.ackID(sessionID: 1, subscriptionID: "a", offset: 0) == again.ackID)
    }

    @Test func aReplayFindsItsUnacknowledgedRecord() throws {
        var replay = ReplayState(subscriptionID: "r", destination: patrolTopic, mode: .clientIndividual, prefetch: nil, end: nil, serial: 3)
        _ = replay.consider(offset: 40, timestamp: 0, destination: patrolTopic.description)
        #expect(replay.ackID(ofUnacknowledged: 40) == "r3.40")
        #expect(replay.ackID(ofUnacknowledged: 41) == nil)
        try replay.acknowledge("r3.40")
        #expect(replay.ackID(ofUnacknowledged: 40) == nil)
    }

    @Test func messageReferencesReadTheOffsetOfTheBrokersMessageIDs() {
        #expect(MessageReference(messageID: "m-42", subscriptionID: "s")?.offset == 42)
        #expect(MessageReference(messageID: "d-7", subscriptionID: nil)?.offset == 7)
        #expect(MessageReference(messageID: "42", subscriptionID: nil) == nil)
        #expect(MessageReference(messageID: "m-x", subscriptionID: nil) == nil)
    }
}
