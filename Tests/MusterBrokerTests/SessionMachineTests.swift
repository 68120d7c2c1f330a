import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

@Suite("SessionMachine: connecting")
struct SessionMachineConnectTests {
    @Test(arguments: ["1.2", "1.0,1.1,1.2", "1.1, 1.2"])
    func connectOfferingVersion12IsAccepted(acceptVersion: String) {
        var machine = freshMachine()
        let actions = machine.handle(StompFrame(.connect, headers: ["accept-version": acceptVersion]))
        #expect(actions.map(\.summary) == ["send CONNECTED", "connected 0,0"])
        #expect(actions.first?.sentFrame?.headers["version"] == "1.2")
    }

    @Test(arguments: ["2.0", "0.9, 3.0", ""])
    func connectOfferingNoSpokenVersionIsRefusedAsUnsupportedVersionAndCloses(acceptVersion: String) {
        var machine = freshMachine()
        let actions = machine.handle(StompFrame(.connect, headers: ["host": "muster", "accept-version": acceptVersion]))
        expectRefusal(actions, code: .unsupportedVersion)
        #expect(actions.first?.sentFrame?.headers["version"] == "1.0,1.1,1.2", "the ERROR names the versions spoken")
        #expect(machine.isClosed)
    }

    @Test func stompCommandIsAcceptedLikeConnect() {
        var machine = freshMachine()
        let actions = machine.handle(StompFrame(.stomp, headers: ["accept-version": "1.2"]))
        #expect(actions.map(\.summary) == ["send CONNECTED", "connected 0,0"])
        #expect(machine.handle(StompFrame(.send, headers: ["destination": "/topic/joint-patrol"])).first?.publication != nil)
    }

    @Test func connectedCarriesVersionSessionServerHeartbeatAndParty() throws {
        var machine = SessionMachine(party: langxiaTown, sessionName: "s-42",
                                     settings: SessionSettings(heartbeatSend: 4000, heartbeatWant: 6000, serverName: "Muster/test"))
        let actions = machine.handle(StompFrame(.connect, headers: ["accept-version": "1.2", "heart-beat": "5000,3000"]))
        let connected = try #require(actions.first?.sentFrame)
        #expect(connected.command == .connected)
        #expect(connected.headers["version"] == "1.2")
        #expect(connected.headers["session"] == "s-42")
        #expect(connected.headers["server"] == "Muster/test")
        // Broker sends every max(sx=4000, cy=3000); expects every max(cx=5000, sy=6000).
        #expect(connected.headers["heart-beat"] == "4000,6000")
        #expect(connected.headers["muster-party"] == "muster://jinshan/langxia-town")
        #expect(actions.last?.summary == "connected 4000,6000")
    }

    @Test(arguments: ["10000", "a,b", "-1,0", "1,2,3"])
    func malformedHeartbeatIsRefusedAsInvalidHeader(heartbeat: String) {
        var machine = freshMachine()
        expectRefusal(machine.handle(StompFrame(.connect, headers: ["accept-version": "1.2", "heart-beat": heartbeat])),
                      code: .invalidHeader)
    }

    @Test(arguments: [StompCommand.send, .subscribe, .ack, .begin, .disconnect])
    func framesBeforeConnectAreRefusedAsNotConnected(command: StompCommand) {
        var machine = freshMachine()
        let actions = machine.handle(StompFrame(command, headers: ["destination": "/topic/joint-patrol", "receipt": "r-1"]))
        expectRefusal(actions, code: .notConnected, receiptID: "r-1")
        #expect(machine.isClosed)
    }

    @Test func secondConnectIsRefusedAsAlreadyConnected() {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.connect, headers: ["accept-version": "1.2"])), code: .alreadyConnected)
    }

    @Test func loginAndPasscodeNeverChangeTheAuthenticatedParty() throws {
        var machine = freshMachine()
        let actions = machine.handle(StompFrame(.connect, headers: ["accept-version": "1.2", "login": "muster://pinghu/guangchen-town", "passcode": "x"]))
        #expect(actions.first?.sentFrame?.headers["muster-party"] == langxiaTown.uri)
        let sent = machine.handle(StompFrame(.send, headers: ["destination": "/topic/joint-patrol", "login": "guangchen-town"]))
        let publication = try #require(sent.first?.publication)
        #expect(publication.sender == langxiaTown)
    }
}

@Suite("SessionMachine: SEND")
struct SessionMachineSendTests {
    @Test func sendBecomesAPublicationWithItsReceipt() throws {
        var machine = connectedMachine()
        let actions = machine.handle(StompFrame(.send, headers: ["destination": "/queue/work-orders", "receipt": "r-9"], text: "hi"))
        #expect(actions.map(\.summary) == ["publish /queue/work-orders hi receipt=r-9"])
        #expect(try #require(actions.first?.publication).destination == workOrdersQueue)
    }

    @Test(arguments: ["", String(repeating: "x", count: 257)])
    func aPublishIDMustBeOneTo256Bytes(id: String) {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.send, headers: ["destination": "/queue/work-orders", "muster-publish-id": id])), code: .invalidHeader)
        var accepted = connectedMachine()
        let actions = accepted.handle(StompFrame(.send, headers: ["destination": "/queue/work-orders", "muster-publish-id": String(repeating: "x", count: 256)]))
        #expect(actions.first?.publication?.headers["muster-publish-id"]?.utf8.count == 256)
    }

    @Test func aPublishIDInsideATransactionIsRefusedWhenTheSendArrives() {
        var machine = connectedMachine()
        _ = machine.handle(StompFrame(.begin, headers: ["transaction": "t"]))
        expectRefusal(machine.handle(StompFrame(.send, headers: ["destination": "/queue/work-orders", "transaction": "t", "muster-publish-id": "a"])),
                      code: .invalidHeader)
    }

    @Test func sendWithoutDestinationIsRefusedEchoingTheReceipt() {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.send, headers: ["receipt": "r-3"], text: "hi")), code: .missingHeader, receiptID: "r-3")
    }

    @Test func sendWithEmptyDestinationIsAMissingHeader() {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.send, headers: ["destination": ""])), code: .missingHeader)
    }

    @Test(arguments: ["/exchange/x", "/topic/", "/topic/a//b", "/queue/has space", "topic/x"])
    func sendToAnInvalidDestinationIsRefused(destination: String) {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.send, headers: ["destination": destination])), code: .invalidDestination)
    }

    /// Every header the broker writes, on messages, delivery records (a forged `muster-record:delivery`
    /// with `muster-event:acked` would pass for evidence in an auditor's replay) and replay markers.
    @Test(arguments: [ReservedHeader.sender, ReservedHeader.senderJurisdiction, ReservedHeader.timestamp, ReservedHeader.errorCode,
                      ReservedHeader.party, ReservedHeader.deadLetterFrom, ReplayHeader.record, ReplayHeader.endOffset, ReplayHeader.replayed,
                      DeliveryRecordHeader.event, DeliveryRecordHeader.consumer, DeliveryRecordHeader.offset, DeliveryRecordHeader.at,
                      DeliveryRecordHeader.deliveredAt, DeliveryRecordHeader.subscription, DeliveryRecordHeader.reason,
                      WorkflowHeader.id, WorkflowHeader.deadline])
    func clientSuppliedBrokerHeadersAreRefusedAsReserved(header: String) {
        var machine = connectedMachine()
        let frame = StompFrame(.send, headers: StompHeaders([("destination", "/topic/joint-patrol"), (header, "mallory")]))
        expectRefusal(machine.handle(frame), code: .reservedHeader)
    }

    @Test func theMessageTypeIsTheOneMusterHeaderAClientSends() throws {
        var machine = connectedMachine()
        let frame = StompFrame(.send, headers: StompHeaders([("destination", "/topic/joint-patrol"), (ReservedHeader.type, "summons")]))
        guard case .publish(let publication, _)? = machine.handle(frame).first else {
            Issue.record("a typed SEND was not published")
            return
        }
        #expect(publication.headers[ReservedHeader.type] == "summons")
    }

    @Test func publicationKeepsApplicationHeadersInOrderAndDropsFrameControlOnes() throws {
        var machine = connectedMachine()
        let frame = StompFrame(.send, headers: StompHeaders([
            ("destination", "/topic/joint-patrol"), ("x-trace", "t1"), ("receipt", "r-1"),
            ("content-length", "2"), ("content-type", "text/plain"), ("x-trace", "t2"),
        ]), text: "hi")
        let publication = try #require(machine.handle(frame).first?.publication)
        #expect(publication.headers == StompHeaders([("x-trace", "t1"), ("content-type", "text/plain"), ("x-trace", "t2")]))
        #expect(publication.body == Array("hi".utf8))
        #expect(publication.sender == langxiaTown)
    }

    @Test func clientSendingServerFramesIsRefused() {
        for command in [StompCommand.message, .connected, .receipt, .error] {
            var machine = connectedMachine()
            expectRefusal(machine.handle(StompFrame(command, headers: ["destination": "/topic/joint-patrol"])), code: .malformedFrame)
        }
    }
}

@Suite("SessionMachine: subscriptions and acknowledgements")
struct SessionMachineSubscribeTests {
    @Test(arguments: [(nil, .auto), ("auto", .auto), ("client", .client), ("client-individual", .clientIndividual)] as [(String?, AckMode)])
    func subscribeAcceptsTheThreeAckModes(header: String?, mode: AckMode) {
        var machine = connectedMachine()
        var headers: StompHeaders = ["id": "s1", "destination": "/topic/joint-patrol", "receipt": "r-1"]
        if let header { headers["ack"] = header }
        #expect(machine.handle(StompFrame(.subscribe, headers: headers)).map(\.summary)
                == ["subscribe s1 /topic/joint-patrol \(mode.rawValue) prefetch=none receipt=r-1"])
    }

    @Test(arguments: ["Client", "individual", ""])
    func unknownAckModeIsRefusedAsInvalidHeader(mode: String) {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.subscribe, headers: ["id": "s1", "destination": "/topic/joint-patrol", "ack": mode])),
                      code: .invalidHeader)
    }

    @Test(arguments: [("5", "5"), ("1", "1"), ("0", "none")])
    func prefetchCountIsParsedAndZeroMeansUnlimited(text: String, expected: String) {
        var machine = connectedMachine()
        let actions = machine.handle(StompFrame(.subscribe, headers: ["id": "s1", "destination": "/queue/work-orders", "prefetch-count": text]))
        #expect(actions.map(\.summary) == ["subscribe s1 /queue/work-orders auto prefetch=\(expected)"])
    }

    @Test(arguments: ["-1", "many", "2.5"])
    func invalidPrefetchCountIsRefused(text: String) {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.subscribe, headers: ["id": "s1", "destination": "/queue/work-orders", "prefetch-count": text])),
                      code: .invalidHeader)
    }

    @Test func subscribeNeedsAnID() {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.subscribe, headers: ["destination": "/topic/joint-patrol"])), code: .missingHeader)
    }

    @Test func subscriptionsBeyondTheLimitAreRefusedUntilOneEnds() {
        var machine = connectedMachine(SessionSettings(maxSubscriptions: 2))
        func subscribe(_ id: String) -> [SessionAction] {
            machine.handle(StompFrame(.subscribe, headers: ["id": id, "destination": "/topic/joint-patrol"]))
        }
        #expect(subscribe("a").count == 1)
        #expect(subscribe("b").count == 1)
        #expect(machine.handle(StompFrame(.unsubscribe, headers: ["id": "a"])).map(\.summary) == ["unsubscribe a"])
        #expect(subscribe("c").count == 1)
        machine.subscriptionRefused()  // the broker refused "c"
        #expect(subscribe("d").count == 1)
        expectRefusal(subscribe("e"), code: .tooManySubscriptions)
    }

    @Test func ackAndNackNameTheAckIDAndNackRequeuesByDefault() {
        var machine = connectedMachine()
        #expect(machine.handle(StompFrame(.ack, headers: ["id": "12", "receipt": "r"])).map(\.summary) == ["ack 12 receipt=r"])
        #expect(machine.handle(StompFrame(.nack, headers: ["id": "13"])).map(\.summary) == ["nack 13 requeue=true"])
        #expect(machine.handle(StompFrame(.nack, headers: ["id": "14", "requeue": "false"])).map(\.summary) == ["nack 14 requeue=false"])
    }

    @Test func ackWithoutIDAndNackWithABadRequeueFlagAreRefused() {
        var first = connectedMachine()
        expectRefusal(first.handle(StompFrame(.ack, headers: ["receipt": "r-5"])), code: .missingHeader, receiptID: "r-5")
        var second = connectedMachine()
        expectRefusal(second.handle(StompFrame(.nack, headers: ["id": "1", "requeue": "yes"])), code: .invalidHeader)
    }

    /// stomp.py writes Python booleans (`requeue:False`, `durable:True`); RabbitMQ reads them in any case.
    @Test func booleanHeadersAreReadInAnyCase() throws {
        var machine = connectedMachine()
        #expect(machine.handle(StompFrame(.nack, headers: ["id": "14", "requeue": "False"])).map(\.summary) == ["nack 14 requeue=false"])
        #expect(machine.handle(StompFrame(.nack, headers: ["id": "15", "requeue": "TRUE"])).map(\.summary) == ["nack 15 requeue=true"])
        let subscribe = machine.handle(StompFrame(.subscribe, headers: ["id": "d", "destination": "/topic/joint-patrol", "durable": "True"]))
        guard case .subscribe(_, _, _, _, _, let durable, _)? = subscribe.first else {
            Issue.record("SUBSCRIBE durable:True was not a subscription: \(subscribe.map(\.summary))")
            return
        }
        #expect(durable)
        let replay = try ReplayRequest.parse(start: nil, end: nil, includeAcks: "True")
        #expect(replay?.includeAcks == true)
    }
}

@Suite("SessionMachine: transactions and closing")
struct SessionMachineTransactionTests {
    @Test func commitYieldsTheBufferedSendAckAndNackInOrder() throws {
        var machine = connectedMachine()
        #expect(machine.handle(StompFrame(.begin, headers: ["transaction": "t1", "receipt": "b"])).map(\.summary) == ["send RECEIPT b"])
        #expect(machine.handle(StompFrame(.send, headers: ["destination": "/topic/joint-patrol", "transaction": "t1"], text: "one")).isEmpty)
        #expect(machine.handle(StompFrame(.ack, headers: ["id": "4", "transaction": "t1"])).isEmpty)
        #expect(machine.handle(StompFrame(.send, headers: ["destination": "/queue/work-orders", "transaction": "t1", "receipt": "s"], text: "two"))
                .isEmpty, "a transactional SEND's RECEIPT waits for the COMMIT")
        #expect(machine.handle(StompFrame(.nack, headers: ["id": "5", "transaction": "t1", "requeue": "false"])).isEmpty)
        let commit = machine.handle(StompFrame(.commit, headers: ["transaction": "t1", "receipt": "c"]))
        #expect(commit.map(\.summary) == [
            "commit t1 [publish /topic/joint-patrol one; ack 4; publish /queue/work-orders two receipt=s; nack 5 requeue=false] receipt=c",
        ])
        guard case .commit(_, let actions, _) = try #require(commit.first) else { return }
        #expect(!(try #require(actions.first?.publication)).headers.contains("transaction"))
    }

    @Test func abortDiscardsTheBufferedFrames() {
        var machine = connectedMachine()
        _ = machine.handle(StompFrame(.begin, headers: ["transaction": "t1"]))
        _ = machine.handle(StompFrame(.send, headers: ["destination": "/topic/joint-patrol", "transaction": "t1"]))
        #expect(machine.handle(StompFrame(.abort, headers: ["transaction": "t1", "receipt": "a"])).map(\.summary) == ["send RECEIPT a"])
        expectRefusal(machine.handle(StompFrame(.commit, headers: ["transaction": "t1"])), code: .unknownTransaction)
    }

    @Test func framesNamingAnUnknownTransactionAreRefused() {
        for frame in [StompFrame(.send, headers: ["destination": "/topic/joint-patrol", "transaction": "nope"]),
                      StompFrame(.ack, headers: ["id": "1", "transaction": "nope"]),
                      StompFrame(.commit, headers: ["transaction": "nope"]),
                      StompFrame(.abort, headers: ["transaction": "nope"])] {
            var machine = connectedMachine()
            expectRefusal(machine.handle(frame), code: .unknownTransaction)
        }
    }

    @Test func beginningAnOpenTransactionAgainIsRefused() {
        var machine = connectedMachine()
        _ = machine.handle(StompFrame(.begin, headers: ["transaction": "t1"]))
        expectRefusal(machine.handle(StompFrame(.begin, headers: ["transaction": "t1", "receipt": "r"])), code: .duplicateTransaction, receiptID: "r")
    }

    @Test func transactionsAreLimitedInFrames() {
        var machine = connectedMachine(SessionSettings(maxTransactionFrames: 2))
        _ = machine.handle(StompFrame(.begin, headers: ["transaction": "t1"]))
        let send = StompFrame(.send, headers: ["destination": "/topic/joint-patrol", "transaction": "t1"])
        #expect(machine.handle(send).isEmpty)
        #expect(machine.handle(send).isEmpty)
        expectRefusal(machine.handle(send), code: .limitExceeded)
    }

    /// The refusal names the setting to raise.
    private func expectLimit(_ actions: [SessionAction], naming setting: String) {
        expectRefusal(actions, code: .limitExceeded)
        let message = actions.compactMap(\.sentFrame).first?.headers["message"] ?? ""
        #expect(message.contains(setting), "\(message)")
    }

    @Test func aTransactionHoldsAtMostItsByteLimit() {
        var machine = connectedMachine(SessionSettings(maxTransactionBytes: 10_000))
        _ = machine.handle(StompFrame(.begin, headers: ["transaction": "t1"]))
        let send = StompFrame(.send, headers: ["destination": "/topic/joint-patrol", "transaction": "t1"], body: [UInt8](repeating: 1, count: 4_000))
        #expect(machine.handle(send).isEmpty)
        #expect(machine.handle(send).isEmpty)
        expectLimit(machine.handle(send), naming: "limits.max-transaction-bytes")
        #expect(machine.isClosed)
    }

    @Test func aConnectionsOpenTransactionsHoldAtMostTheirByteLimitTogether() {
        var machine = connectedMachine(SessionSettings(maxTransactionBytes: 10_000, maxTransactionBytesPerConnection: 15_000))
        let body = [UInt8](repeating: 1, count: 7_000)
        for id in ["t1", "t2", "t3"] { _ = machine.handle(StompFrame(.begin, headers: ["transaction": id])) }
        #expect(machine.handle(StompFrame(.send, headers: ["destination": "/topic/a", "transaction": "t1"], body: body)).isEmpty)
        #expect(machine.handle(StompFrame(.send, headers: ["destination": "/topic/a", "transaction": "t2"], body: body)).isEmpty)
        expectLimit(machine.handle(StompFrame(.send, headers: ["destination": "/topic/a", "transaction": "t3"], body: body)),
                    naming: "limits.max-transaction-bytes-per-connection")
    }

    @Test func committedOrAbortedTransactionsGiveTheirBytesBack() {
        var machine = connectedMachine(SessionSettings(maxTransactionBytes: 10_000, maxTransactionBytesPerConnection: 10_000))
        let body = [UInt8](repeating: 1, count: 7_000)
        for round in 0..<4 {
            let id = "t\(round)"
            _ = machine.handle(StompFrame(.begin, headers: ["transaction": id]))
            #expect(machine.handle(StompFrame(.send, headers: ["destination": "/topic/a", "transaction": id], body: body)).isEmpty)
            _ = machine.handle(StompFrame(round % 2 == 0 ? .commit : .abort, headers: ["transaction": id]))
        }
        #expect(!machine.isClosed)
    }

    @Test func aConnectionOpensAtMostItsLimitOfTransactions() {
        var machine = connectedMachine(SessionSettings(maxOpenTransactions: 2))
        #expect(machine.handle(StompFrame(.begin, headers: ["transaction": "t1"])).isEmpty)
        #expect(machine.handle(StompFrame(.begin, headers: ["transaction": "t2"])).isEmpty)
        expectLimit(machine.handle(StompFrame(.begin, headers: ["transaction": "t3"])), naming: "limits.max-open-transactions")
    }

    @Test func anAbortedTransactionsSendsNeverGetTheirReceipts() {
        var machine = connectedMachine()
        _ = machine.handle(StompFrame(.begin, headers: ["transaction": "t1"]))
        #expect(machine.handle(StompFrame(.send, headers: ["destination": "/topic/a", "transaction": "t1", "receipt": "s1"])).isEmpty)
        #expect(machine.handle(StompFrame(.abort, headers: ["transaction": "t1", "receipt": "a"])).map(\.summary) == ["send RECEIPT a"])
    }

    @Test func disconnectWithReceiptSendsTheReceiptThenCloses() {
        var machine = connectedMachine()
        #expect(machine.handle(StompFrame(.disconnect, headers: ["receipt": "bye"])).map(\.summary) == ["send RECEIPT bye", "close"])
        #expect(machine.isClosed)
        #expect(machine.handle(StompFrame(.send, headers: ["destination": "/topic/joint-patrol"])).isEmpty)
        var quiet = connectedMachine()
        #expect(quiet.handle(StompFrame(.disconnect)).map(\.summary) == ["close"])
    }

    @Test func afterAnErrorTheMachineIgnoresEveryFrame() {
        var machine = connectedMachine()
        expectRefusal(machine.handle(StompFrame(.send, headers: [:])), code: .missingHeader)
        #expect(machine.handle(StompFrame(.send, headers: ["destination": "/topic/joint-patrol"])).isEmpty)
        #expect(machine.handle(StompFrame(.connect, headers: ["accept-version": "1.2"])).isEmpty)
        #expect(machine.fail(BrokerError(.heartbeatTimeout, "late")).isEmpty)
    }

    @Test func errorFrameCarriesMessageCodeAdviceAndReceipt() {
        let frame = StompFrame.error(BrokerError(.unknownAck, "ack id '9' is unknown"), receiptID: "r-2")
        #expect(frame.command == .error)
        #expect(frame.headers["message"] == "ack id '9' is unknown")
        #expect(frame.headers["muster-error-code"] == "unknown-ack")
        #expect(frame.headers["receipt-id"] == "r-2")
        #expect(frame.bodyText.contains(ErrorCode.unknownAck.advice))
    }
}
