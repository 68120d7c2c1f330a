import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

@Suite("Publish ids: the bookkeeping")
struct PublishIDsTests {
    typealias IDs = PublishIDs<String>
    let key = IDs.Key(party: langxiaTown, id: "summons-7")
    let original = IDs.Original(offset: 41, timestamp: 1_000, destination: "/topic/summons", workflowID: "s-3")

    @Test func aRepeatAfterTheOriginalWasStoredGetsTheOriginal() {
        var ids = IDs(window: 60_000, capacity: 10)
        guard case .fresh = ids.claim(key, waiter: "first", now: 1_000) else { Issue.record("a new id must be fresh"); return }
        #expect(ids.settle(key, as: original, now: 1_010).isEmpty)
        guard case .repeated(let answer) = ids.claim(key, waiter: "second", now: 2_000) else { Issue.record("a repeat must be answered"); return }
        #expect(answer == original)
        #expect(ids.repeatsAnswered == 1)
    }

    @Test func aRepeatWhileTheOriginalIsBeingStoredWaitsForIt() {
        var ids = IDs(window: 60_000, capacity: 10)
        _ = ids.claim(key, waiter: "first", now: 1_000)
        guard case .waiting = ids.claim(key, waiter: "second", now: 1_001) else { Issue.record("a repeat in flight must wait"); return }
        guard case .waiting = ids.claim(key, waiter: "third", now: 1_002) else { Issue.record("a repeat in flight must wait"); return }
        #expect(ids.settle(key, as: original, now: 1_003) == ["second", "third"])
        guard case .repeated = ids.claim(key, waiter: "fourth", now: 1_004) else { Issue.record("stored now"); return }
    }

    @Test func anOriginalThatWasNotStoredFreesTheID() {
        var ids = IDs(window: 60_000, capacity: 10)
        _ = ids.claim(key, waiter: "first", now: 1_000)
        _ = ids.claim(key, waiter: "second", now: 1_001)
        #expect(ids.settle(key, as: nil, now: 1_002) == ["second"])
        guard case .fresh = ids.claim(key, waiter: "retry", now: 1_003) else { Issue.record("a refused id must be free again"); return }
    }

    @Test func idsArePerParty() {
        var ids = IDs(window: 60_000, capacity: 10)
        _ = ids.claim(key, waiter: "langxia", now: 1_000)
        _ = ids.settle(key, as: original, now: 1_000)
        guard case .fresh = ids.claim(IDs.Key(party: guangchenTown, id: "summons-7"), waiter: "guangchen", now: 1_001) else {
            Issue.record("another party's same id is its own"); return
        }
    }

    @Test func anIDIsForgottenAfterTheWindow() {
        var ids = IDs(window: 60_000, capacity: 10)
        _ = ids.claim(key, waiter: "first", now: 0)
        _ = ids.settle(key, as: original, now: 0)
        guard case .repeated = ids.claim(key, waiter: "inside", now: 60_000) else { Issue.record("remembered for the whole window"); return }
        guard case .fresh = ids.claim(key, waiter: "after", now: 60_001) else { Issue.record("forgotten after the window"); return }
    }

    @Test func beyondCapacityTheOldestAreForgottenButNotOnesBeingStored() {
        var ids = IDs(window: 60_000, capacity: 2)
        let keys = (0..<4).map { IDs.Key(party: langxiaTown, id: "m-\($0)") }
        _ = ids.claim(keys[3], waiter: "in flight", now: 0)  // never settled here
        for index in 0..<3 {
            _ = ids.claim(keys[index], waiter: "", now: Int64(index))
            _ = ids.settle(keys[index], as: IDs.Original(offset: UInt64(index), timestamp: 0, destination: "/topic/x", workflowID: nil), now: Int64(index))
        }
        guard case .fresh = ids.claim(keys[0], waiter: "", now: 10) else { Issue.record("the oldest is forgotten first"); return }
        guard case .repeated = ids.claim(keys[2], waiter: "", now: 10) else { Issue.record("the newest is remembered"); return }
        guard case .waiting = ids.claim(keys[3], waiter: "repeat", now: 10) else { Issue.record("one being stored is never forgotten"); return }
    }

    @Test func theFirstRecordOfAnIDFoundInTheLogIsTheOriginal() {
        var ids = IDs(window: 60_000, capacity: 10)
        ids.restore(key, original, storedAt: 1_000)
        ids.restore(key, IDs.Original(offset: 99, timestamp: 5_000, destination: "/queue/muster.dead-letters", workflowID: nil), storedAt: 5_000)
        guard case .repeated(let answer) = ids.claim(key, waiter: "after restart", now: 6_000) else { Issue.record("restored ids answer repeats"); return }
        #expect(answer == original)
    }

    @Test func idsFoundInTheLogAreRemembered() {
        var ids = IDs(window: 60_000, capacity: 10)
        ids.restore(key, original, storedAt: 1_000)
        guard case .repeated(let answer) = ids.claim(key, waiter: "after restart", now: 2_000) else { Issue.record("restored ids answer repeats"); return }
        #expect(answer.workflowID == "s-3")
    }
}

@Suite("Publish ids: the broker")
struct BrokerPublishIDTests {
    func withID(_ id: String, text: String, sender: PartyIdentity = langxiaTown) -> Publication {
        var headers = StompHeaders()
        headers.append(PublishHeader.id, id)
        return publication(to: patrolTopic, text: text, headers: headers, sender: sender)
    }

    @Test func aRepeatedIDIsStoredOnceAndAnsweredWithTheOriginalOffset() throws {
        let store = CountingStore()
        let broker = Broker(store: store)
        let target = RecordingTarget()
        let session = broker.attach(party: guangchenTown, target: target)
        try broker.subscribe(sessionID: session, party: guangchenTown, subscriptionID: "s", destination: patrolTopic, mode: .auto, prefetch: nil)
        let completions = Completions()
        broker.publish(withID("a", text: "first"), completion: completions.handler)
        broker.publish(withID("b", text: "other"), completion: completions.handler)
        broker.publish(withID("a", text: "resent"), completion: completions.handler)
        #expect(store.appendCount == 2)
        #expect(target.bodies == ["first", "other"])
        let offsets = try completions.all.map { try $0.get().offset }
        #expect(offsets == [0, 1, 0])
        let repeatReport = try completions.all[2].get()
        #expect(repeatReport.publication.headers[PublishHeader.duplicate] == "true")
        #expect(try completions.all[0].get().publication.headers[PublishHeader.duplicate] == nil)
    }

    @Test func aRepeatWhileTheOriginalIsInFlightIsAnsweredWhenItIsStored() throws {
        let store = CountingStore(holdCompletions: true)
        let broker = Broker(store: store)
        let completions = Completions()
        broker.publish(withID("a", text: "first"), completion: completions.handler)
        broker.publish(withID("a", text: "resent"), completion: completions.handler)
        #expect(completions.all.isEmpty)
        store.release()
        #expect(store.appendCount == 1)
        #expect(try completions.all.map { try $0.get().offset } == [0, 0])
    }

    @Test func aRefusedOriginalLeavesTheIDFreeAndItsRepeatIsDecidedAgain() {
        let store = CountingStore()
        let broker = Broker(store: store, gate: SecretGate())
        let completions = Completions()
        var secret = withID("a", text: "refused")
        secret.destination = Destination(kind: .topic, name: "secret")
        broker.publish(secret, completion: completions.handler)
        broker.publish(withID("a", text: "allowed"), completion: completions.handler)
        #expect(store.appendCount == 1)
        #expect(throws: BrokerError.self) { try completions.all[0].get() }
        #expect(completions.all.count == 2)
        #expect((try? completions.all[1].get().publication.headers[PublishHeader.duplicate]) == .some(nil))
    }

    @Test func aRepeatThatWaitedForAnOriginalThatFailedIsDecidedOnItsOwn() throws {
        let store = CountingStore(holdCompletions: true)
        let broker = Broker(store: store)
        let completions = Completions()
        broker.publish(withID("a", text: "first"), completion: completions.handler)
        broker.publish(withID("a", text: "resent"), completion: completions.handler)
        store.failHeld(with: BrokerError(.storageFailure, "disk full"))
        #expect(completions.all.count == 1)
        store.release()
        #expect(store.appendCount == 2)
        #expect(completions.all.count == 2)
        #expect(throws: BrokerError.self) { try completions.all[0].get() }
        let second = try completions.all[1].get()
        #expect(second.publication.headers[PublishHeader.duplicate] == nil)
        #expect(String(decoding: second.publication.body, as: UTF8.self) == "resent")
    }

    @Test func anIDAlreadyUsedForAnotherDestinationIsRefused() throws {
        let broker = Broker(store: CountingStore())
        let completions = Completions()
        broker.publish(withID("a", text: "to patrol"), completion: completions.handler)
        var elsewhere = withID("a", text: "to work orders")
        elsewhere.destination = workOrdersQueue
        broker.publish(elsewhere, completion: completions.handler)
        #expect(try completions.all[0].get().offset == 0)
        #expect(throws: BrokerError.self) { try completions.all[1].get() }
    }

    @Test func theSameIDFromAnotherPartyIsItsOwnMessage() {
        let store = CountingStore()
        let broker = Broker(store: store)
        broker.publish(withID("a", text: "langxia")) { _ in }
        broker.publish(withID("a", text: "guangchen", sender: guangchenTown)) { _ in }
        #expect(store.appendCount == 2)
    }

    @Test func anIDFoundInTheLogAtStartAnswersARepeat() throws {
        let store = CountingStore()
        let original = StoredMessage(offset: 7, timestamp: 900, publication: withID("a", text: "before the restart"))
        let broker = Broker(store: store, clock: { 1_000 }, restoredPublishIDs: [RestoredPublishID(original, storedAt: 900)])
        let completions = Completions()
        broker.publish(withID("a", text: "resent after the restart"), completion: completions.handler)
        #expect(store.appendCount == 0)
        #expect(try completions.all.first?.get().offset == 7)
    }

    @Test func aTransactionRefusesPublishIDs() {
        let broker = Broker(store: CountingStore())
        let refusal = broker.publishTogether([withID("a", text: "in a transaction")], deferCommit: false) { _, _ in }
        #expect(refusal?.code == .invalidHeader)
    }
}
