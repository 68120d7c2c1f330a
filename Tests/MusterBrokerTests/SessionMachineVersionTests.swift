import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

/// STOMP 1.0 and 1.1 are negotiated with their own semantics (Schemas/protocol.md, Versions).
@Suite("SessionMachine: STOMP 1.0 and 1.1")
struct SessionMachineVersionTests {
    private func machine(speaking acceptVersion: String?, heartbeat: String? = nil) -> (SessionMachine, [SessionAction]) {
        var machine = SessionMachine(party: langxiaTown, sessionName: "s-1", settings: SessionSettings(heartbeatSend: 4000, heartbeatWant: 6000))
        var headers: StompHeaders = ["host": "muster"]
        if let acceptVersion { headers["accept-version"] = acceptVersion }
        if let heartbeat { headers["heart-beat"] = heartbeat }
        let actions = machine.handle(StompFrame(.connect, headers: headers))
        return (machine, actions)
    }

    @Test(arguments: [
        (Optional<String>.none, StompVersion.v1_0), ("1.0", .v1_0), ("1.1", .v1_1), ("1.0,1.1", .v1_1),
        ("1.1,1.2", .v1_2), ("1.0, 1.1, 1.2", .v1_2), ("1.2", .v1_2), ("1.1,2.0", .v1_1),
    ])
    func negotiatesTheHighestVersionBothSpeak(acceptVersion: String?, expected: StompVersion) throws {
        let (machine, actions) = machine(speaking: acceptVersion)
        let connected = try #require(actions.first?.sentFrame)
        #expect(connected.command == .connected)
        #expect(connected.headers["version"] == expected.rawValue)
        #expect(connected.headers["muster-party"] == langxiaTown.uri)
        #expect(machine.version == expected)
    }

    @Test func stomp11NegotiatesHeartbeatsLike12() throws {
        let (_, actions) = machine(speaking: "1.1", heartbeat: "5000,3000")
        #expect(actions.first?.sentFrame?.headers["heart-beat"] == "4000,6000")
        #expect(actions.last?.summary == "connected 4000,6000")
    }

    @Test func stomp10HasNoHeartbeatsAndIgnoresTheHeader() throws {
        let (_, actions) = machine(speaking: nil, heartbeat: "not heart-beats")
        #expect(actions.first?.sentFrame?.headers["heart-beat"] == nil)
        #expect(actions.last?.summary == "connected 0,0")
    }

    @Test func stomp10AcksByMessageIDWithOrWithoutSubscription() {
        var (machine, _) = machine(speaking: "1.0")
        #expect(machine.handle(StompFrame(.ack, headers: ["message-id": "m-42", "receipt": "r"])).map(\.summary)
                == ["ack message m-42 receipt=r"])
        #expect(machine.handle(StompFrame(.ack, headers: ["message-id": "m-43", "subscription": "s"])).map(\.summary)
                == ["ack message m-43 subscription=s"])
    }

    @Test func stomp10AckNamingOnlyAnAckIDIsRefused() {
        var (machine, _) = machine(speaking: "1.0")
        expectRefusal(machine.handle(StompFrame(.ack, headers: ["id": "12", "receipt": "r-1"])), code: .missingHeader, receiptID: "r-1")
    }

    @Test func stomp10HasNoNack() {
        var (machine, _) = machine(speaking: "1.0")
        let actions = machine.handle(StompFrame(.nack, headers: ["message-id": "m-42", "receipt": "r-2"]))
        expectRefusal(actions, code: .malformedFrame, receiptID: "r-2")
        #expect(machine.isClosed)
    }

    @Test func stomp11AcksAndNacksByMessageIDAndSubscription() {
        var (machine, _) = machine(speaking: "1.0,1.1")
        #expect(machine.handle(StompFrame(.ack, headers: ["message-id": "m-5", "subscription": "s"])).map(\.summary)
                == ["ack message m-5 subscription=s"])
        #expect(machine.handle(StompFrame(.nack, headers: ["message-id": "m-6", "subscription": "s", "requeue": "false"])).map(\.summary)
                == ["nack message m-6 subscription=s requeue=false"])
    }

    @Test func stomp11AckNeedsItsSubscription() {
        var (machine, _) = machine(speaking: "1.1")
        expectRefusal(machine.handle(StompFrame(.ack, headers: ["message-id": "m-5"])), code: .missingHeader)
    }

    @Test func aMessageIDTheBrokerNeverGaveIsAnUnknownAck() {
        var (machine, _) = machine(speaking: "1.1")
        expectRefusal(machine.handle(StompFrame(.ack, headers: ["message-id": "ID:foo-1", "subscription": "s"])), code: .unknownAck)
    }

    @Test func stomp12StillAcksByAckID() {
        var (machine, _) = machine(speaking: "1.1,1.2")
        #expect(machine.handle(StompFrame(.ack, headers: ["id": "12", "message-id": "m-3"])).map(\.summary) == ["ack 12"])
    }

    @Test func acksByMessageIDWaitForTheirTransaction() {
        var (machine, _) = machine(speaking: "1.1")
        _ = machine.handle(StompFrame(.begin, headers: ["transaction": "t"]))
        #expect(machine.handle(StompFrame(.ack, headers: ["message-id": "m-5", "subscription": "s", "transaction": "t", "receipt": "a"])).isEmpty)
        #expect(machine.handle(StompFrame(.commit, headers: ["transaction": "t"])).map(\.summary)
                == ["commit t [ack message m-5 subscription=s receipt=a]"])
    }
}
