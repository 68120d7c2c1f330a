import MusterStomp
import Testing
@testable import MusterBroker
@testable import MusterProtocol

@Suite("replay subscriptions")
struct ReplayRequestTests {
    @Test func rabbitMQStreamOffsetsAndUntilBoundsParse() throws {
        #expect(try ReplayRequest.parse(start: nil, end: nil) == nil)
        #expect(try ReplayRequest.parse(start: "first", end: nil) == ReplayRequest(start: .first))
        #expect(try ReplayRequest.parse(start: "last", end: nil)?.start == .last)
        #expect(try ReplayRequest.parse(start: "next", end: "head") == ReplayRequest(start: .next, end: .head))
        #expect(try ReplayRequest.parse(start: "offset=42", end: "offset=99") == ReplayRequest(start: .offset(42), end: .offset(99)))
        #expect(try ReplayRequest.parse(start: "timestamp=1763700000", end: "timestamp=1763700000.250")
                == ReplayRequest(start: .timestamp(milliseconds: 1_763_700_000_000), end: .timestamp(milliseconds: 1_763_700_000_250)))
        #expect(try ReplayRequest.parse(start: nil, end: "head") == ReplayRequest(start: .next, end: .head))
    }

    @Test(arguments: ["", "offset=", "offset=-1", "offset=x", "timestamp=yesterday", "timestamp=-5", "beginning"])
    func badStartValuesAreRefusedWithTheAcceptedForms(text: String) {
        #expect(throws: BrokerError.self) { try ReplayRequest.parse(start: text, end: nil) }
        do { _ = try ReplayRequest.parse(start: text, end: nil) } catch {
            #expect(error.code == .invalidHeader)
            #expect(error.message.contains("first, last, next, offset=N or timestamp=UNIX-SECONDS"))
        }
    }

    @Test func subscribeFrameCarriesTheReplayRequest() {
        var machine = SessionMachine(party: PartyIdentity(jurisdiction: "jinshan", party: "discipline-inspector"),
                                     sessionName: "s", settings: SessionSettings())
        _ = machine.handle(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "muster"]))
        let actions = machine.handle(StompFrame(.subscribe, headers: [
            "id": "audit", "destination": "/topic/jinshan.summons", "ack": "client-individual",
            "prefetch-count": "10", "x-stream-offset": "offset=7", "muster-until": "offset=9",
        ]))
        guard case .subscribe(_, _, let mode, let prefetch, let replay, _, _) = actions.first else {
            Issue.record("expected a subscribe action, got \(actions)")
            return
        }
        #expect(mode == .clientIndividual)
        #expect(prefetch == 10)
        #expect(replay == ReplayRequest(start: .offset(7), end: .offset(9)))
    }
}

@Suite("replay state machine")
struct ReplayStateTests {
    let summons = Destination(kind: .topic, name: "jinshan.summons")

    func state(mode: AckMode = .auto, prefetch: Int? = nil, end: ReplayEnd? = nil) -> ReplayState {
        ReplayState(subscriptionID: "audit", destination: summons, mode: mode, prefetch: prefetch, end: end, serial: 3)
    }

    @Test func deliversOnlyItsDestinationAndFinishesAfterTheOffsetBound() {
        var replay = state(end: .offset(4))
        let steps = [
            replay.consider(offset: 2, timestamp: 10, destination: "/topic/jinshan.summons"),
            replay.consider(offset: 3, timestamp: 11, destination: "/topic/other"),
            replay.consider(offset: 4, timestamp: 12, destination: "/topic/jinshan.summons"),
        ]
        #expect(steps == [.deliver(ackID: nil), .skip, .deliver(ackID: nil)])
        let last = replay.consider(offset: 5, timestamp: 13, destination: "/topic/jinshan.summons")
        #expect(last == .finish)
        #expect(replay.finished)
        #expect(replay.delivered == 2)
        let marker = replay.endMarker(nextOffset: 5)
        #expect(marker.command == .receipt)
        #expect(marker.headers["receipt-id"] == "muster-end:audit")
        #expect(marker.headers["muster-end-offset"] == "5")
        #expect(marker.headers["muster-replayed"] == "2")
    }

    @Test func offsetBoundFinishesAtTheHeadOnceTheBoundIsWritten() {
        var replay = state(end: .offset(9))
        let before = replay.reachedHead(nextOffset: 9, timestampFloor: 100)
        #expect(!before)
        let after = replay.reachedHead(nextOffset: 10, timestampFloor: nil)
        #expect(after)
    }

    @Test func timeBoundIsExclusiveAndWaitsWhileAppendsAreInFlight() {
        var replay = state(end: .timestamp(milliseconds: 1000))
        let first = replay.consider(offset: 0, timestamp: 999, destination: "/topic/jinshan.summons")
        #expect(first == .deliver(ackID: nil))
        let inFlight = replay.reachedHead(nextOffset: 1, timestampFloor: nil)
        #expect(!inFlight, "an append in flight may still be stamped before the bound")
        let early = replay.reachedHead(nextOffset: 1, timestampFloor: 999)
        #expect(!early)
        let due = replay.reachedHead(nextOffset: 1, timestampFloor: 1000)
        #expect(due)
        var other = state(end: .timestamp(milliseconds: 1000))
        let atBound = other.consider(offset: 0, timestamp: 1000, destination: "/topic/jinshan.summons")
        #expect(atBound == .finish)
    }

    @Test func prefetchWindowClosesUntilIndividualAcksArrive() throws {
        var replay = state(mode: .clientIndividual, prefetch: 2)
        let first = replay.consider(offset: 0, timestamp: 1, destination: "/topic/jinshan.summons")
        let second = replay.consider(offset: 1, timestamp: 1, destination: "/topic/jinshan.summons")
        #expect([first, second] == [.deliver(ackID: "r3.0"), .deliver(ackID: "r3.1")])
        #expect(!replay.wantsMore)
        try replay.acknowledge("r3.1")
        #expect(replay.wantsMore)
        #expect(replay.pendingCount == 1)
        #expect(throws: BrokerError.self) { try replay.acknowledge("r3.1") }
        #expect(throws: BrokerError.self) { try replay.acknowledge("r4.0") }
    }

    @Test func clientAckSettlesEverythingUpToTheNamedMessage() throws {
        var replay = state(mode: .client, prefetch: 3)
        for offset in 0..<3 { _ = replay.consider(offset: UInt64(offset), timestamp: 1, destination: "/topic/jinshan.summons") }
        #expect(!replay.wantsMore)
        try replay.acknowledge("r3.1")
        #expect(replay.pendingCount == 1)
    }

    @Test func replayAckIDsAreTellableFromLiveOnes() {
        #expect(ReplayState.serial(of: "r12.400") == 12)
        #expect(ReplayState.serial(of: "400") == nil)
        #expect(ReplayState.serial(of: "r12") == nil)
    }
}
