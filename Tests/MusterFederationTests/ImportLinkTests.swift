import MusterFederation
import Testing

/// The import link's rule: the importer's log is its cursor; a repeat is dropped and counted;
/// the same position with another hash, or another log id, halts the link.
@Suite("the import link's position and decisions")
struct ImportLinkTests {
    static func at(_ offset: UInt64, _ hash: String? = nil, log: String = "a1") -> ImportLink.Position {
        ImportLink.Position(logID: log, offset: offset, hash: hash ?? "h\(offset)")
    }

    @Test func aNewLinkTakesFromThePeersFirstRecordAndThenOnlyLaterOnes() {
        var link = ImportLink(peer: "jinshan", position: nil)
        #expect(link.subscribeFrom == "first")
        #expect(link.consider(Self.at(4)) == .take)
        #expect(link.consider(Self.at(9)) == .take)
        #expect(link.submitted == Self.at(9) && link.position == nil, "submitted, not yet durable")
        link.taken(Self.at(4))
        link.taken(Self.at(9))
        #expect(link.position == Self.at(9))
        #expect(link.subscribeFrom == "offset=9", "resubscribes at the last record taken, to see its hash again")
    }

    @Test func aRepeatIsDroppedAndCountedWhetherDurableOrStillInFlight() {
        var link = ImportLink(peer: "jinshan", position: Self.at(9))
        #expect(link.consider(Self.at(9)) == .duplicate, "the resubscription's first record")
        #expect(link.consider(Self.at(12)) == .take)
        #expect(link.consider(Self.at(12)) == .duplicate, "in flight: not taken twice")
        #expect(link.consider(Self.at(3)) == .duplicate)
        #expect(link.duplicates == 3)
    }

    @Test func theSamePositionWithAnotherHashIsAForkAndTheLinkStaysHalted() {
        var link = ImportLink(peer: "jinshan", position: Self.at(9))
        guard case .halt(let alarm) = link.consider(Self.at(9, "rewritten")) else {
            Issue.record("a fork was not halted")
            return
        }
        #expect(alarm.contains("fork") && alarm.contains("a1/9"), "\(alarm)")
        #expect(link.alarm == alarm)
        #expect(link.consider(Self.at(10)) == .halt(alarm), "nothing is taken after the alarm")
    }

    @Test func afterSubscribingThePeerMustResendTheLastRecordTakenUnchanged() {
        var resent = ImportLink(peer: "jinshan", position: Self.at(9))
        resent.subscribed()
        #expect(resent.consider(Self.at(9)) == .duplicate)
        #expect(resent.consider(Self.at(10)) == .take)

        // A peer log restored from an older backup: the stream starts past the position, or at it with other content.
        var skipped = ImportLink(peer: "jinshan", position: Self.at(9))
        skipped.subscribed()
        guard case .halt(let alarm) = skipped.consider(Self.at(11)) else {
            Issue.record("a stream that did not resend the last record taken was followed")
            return
        }
        #expect(alarm.contains("fork") && alarm.contains("a1/9") && alarm.contains("a1/11"), "\(alarm)")
        var rewritten = ImportLink(peer: "jinshan", position: Self.at(9))
        rewritten.subscribed()
        #expect(rewritten.consider(Self.at(9, "other")) != .duplicate)
        #expect(rewritten.alarm != nil)

        // A gap the peer reported (pruned before it was taken) starts the stream after it.
        var gap = ImportLink(peer: "jinshan", position: Self.at(9))
        gap.subscribed()
        #expect(gap.gapReported(through: Self.at(40)) == .take)
        #expect(gap.consider(Self.at(41)) == .take)
    }

    @Test func anotherLogIDIsAReplacedLogAndHaltsTheLink() {
        var link = ImportLink(peer: "jinshan", position: Self.at(9))
        guard case .halt(let alarm) = link.consider(Self.at(10, log: "b2")) else {
            Issue.record("a replaced peer log was not halted")
            return
        }
        #expect(alarm.contains("a1 → b2"), "\(alarm)")
    }

    @Test func afterAFailedImportTheLinkResumesBeforeIt() {
        var link = ImportLink(peer: "jinshan", position: Self.at(9))
        #expect(link.consider(Self.at(10)) == .take)
        #expect(link.consider(Self.at(11)) == .take)
        // 10 failed to be stored, and with it 11 (the link's stores are one sequence).
        link.forgetSubmitted()
        #expect(link.subscribeFrom == "offset=9")
        link.subscribed()
        #expect(link.consider(Self.at(9)) == .duplicate)
        #expect(link.consider(Self.at(10)) == .take, "the failed record is imported on the next try")
        #expect(link.consider(Self.at(11)) == .take)
    }
}

/// Cumulative acknowledgement: the link acknowledges the newest message whose import, and every
/// earlier one's, is durable.
@Suite("cumulative acknowledgements of a link")
struct CumulativeAcksTests {
    @Test func anAckNeverCoversAMessageThatIsNotYetSafe() {
        var acks = CumulativeAcks<String>()
        let a = acks.received("a"), b = acks.received("b"), c = acks.received("c")
        #expect(acks.done(b) == nil, "a is not safe yet")
        #expect(acks.done(a) == "b", "a and b are safe: one ACK of b covers both")
        #expect(acks.inFlight == 1)
        #expect(acks.done(c) == "c")
        #expect(acks.done(c) == nil, "done twice acknowledges nothing more")
    }

    @Test func afterAResetOldTicketsAcknowledgeNothing() {
        var acks = CumulativeAcks<String>()
        let old = acks.received("old")
        acks.reset()
        let new = acks.received("new")
        #expect(acks.done(old) == nil)
        #expect(acks.done(new) == "new")
    }

    @Test func aLongStreamSettledInPairsOutOfOrderAcknowledgesEachPair() {
        var acks = CumulativeAcks<Int>()
        for pair in 0..<3000 {
            let first = acks.received(2 * pair), second = acks.received(2 * pair + 1)
            #expect(acks.done(second) == nil)
            #expect(acks.done(first) == 2 * pair + 1)
            #expect(acks.inFlight == 0)
        }
        let early = acks.received(6000)
        let late = acks.received(6001)
        #expect(acks.done(late) == nil)
        #expect(acks.inFlight == 2)
        #expect(acks.done(early) == 6001)
    }
}

/// The hashes of the latest records taken are kept, a thousand or so: a repeat of one of them
/// with another hash is a fork; older repeats are dropped without the check.
@Suite("the import link's memory of recent records")
struct ImportLinkRecentTests {
    @Test func aRepeatWithAnotherHashIsAForkForTheLatestThousandRecordsTaken() {
        var link = ImportLink(peer: "jinshan", position: nil)
        for offset in UInt64(1)...3000 {
            #expect(link.consider(ImportLinkTests.at(offset)) == .take)
            link.taken(ImportLinkTests.at(offset))
        }
        #expect(link.consider(ImportLinkTests.at(2990)) == .duplicate, "the same record again")
        #expect(link.consider(ImportLinkTests.at(100, "other")) == .duplicate, "too old to be remembered")
        guard case .halt(let alarm) = link.consider(ImportLinkTests.at(2500, "other")) else {
            Issue.record("a rewritten recent record was not halted")
            return
        }
        #expect(alarm.contains("a1/2500"), "\(alarm)")
    }
}
