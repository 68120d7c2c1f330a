import Testing
@testable import MusterBroker
import MusterStomp

@Suite("Delivery → MESSAGE frame")
struct MessageFrameTests {
    private func delivery(headers: StompHeaders = [:], ackID: UInt64? = 17, deliveryCount: Int = 1,
                          text: String = "hello") -> Delivery {
        Delivery(sessionID: 4, subscriptionID: "sub-1",
                 message: stored(42, to: patrolTopic, text: text, headers: headers, sender: guangchenTown, timestamp: 1_234_567),
                 ackID: ackID, deliveryCount: deliveryCount)
    }

    @Test func messageFrameCarriesBrokerHeadersFirstThenThePublishersInOrder() {
        let frame = delivery(headers: StompHeaders([("content-type", "text/plain"), ("x-trace", "a"), ("x-trace", "b")])).frame
        #expect(frame.command == .message)
        #expect(frame.headers.entries.map(\.name) == [
            "subscription", "ack", "redelivered", "muster-delivery-count", "message-id", "destination",
            "muster-sender", "muster-sender-jurisdiction", "muster-timestamp", "x-stream-offset",
            "content-type", "x-trace", "x-trace",
        ])
        #expect(frame.headers.entries.suffix(3).map(\.value) == ["text/plain", "a", "b"])
        #expect(frame.bodyText == "hello")
    }

    @Test func publisherHeadersCannotShadowBrokerHeaders() {
        let forged = StompHeaders([
            ("subscription", "victim"), ("destination", "/topic/elsewhere"), ("message-id", "m-0"), ("ack", "1"),
            ("redelivered", "true"), ("x-stream-offset", "0"), ("muster-delivery-count", "99"), ("x-custom", "kept"),
        ])
        let frame = delivery(headers: forged).frame
        #expect(frame.headers["subscription"] == "sub-1")
        #expect(frame.headers["destination"] == "/topic/joint-patrol")
        #expect(frame.headers["message-id"] == "m-42")
        #expect(frame.headers["ack"] == "17")
        #expect(frame.headers["redelivered"] == "false")
        #expect(frame.headers["x-stream-offset"] == "42")
        #expect(frame.headers["muster-delivery-count"] == "1")
        #expect(frame.headers["x-custom"] == "kept")
        for name in ["subscription", "destination", "message-id", "ack", "redelivered", "x-stream-offset", "muster-delivery-count"] {
            #expect(frame.headers.entries.filter { $0.name == name }.count == 1, "\(name) appears once")
        }
    }

    @Test func redeliveredIsTrueOnlyWhenDeliveredMoreThanOnce() {
        #expect(delivery(deliveryCount: 1).frame.headers["redelivered"] == "false")
        let again = delivery(deliveryCount: 2).frame
        #expect(again.headers["redelivered"] == "true")
        #expect(again.headers["muster-delivery-count"] == "2")
        #expect(delivery(deliveryCount: 5).frame.headers["muster-delivery-count"] == "5")
    }

    @Test func ackHeaderOnlyForDeliveriesThatNeedAnAck() {
        #expect(delivery(ackID: nil).frame.headers.contains("ack") == false)
        #expect(delivery(ackID: 9).frame.headers["ack"] == "9")
    }

    @Test func senderTimestampAndOffsetAreStampedFromTheStoredMessage() {
        let headers = delivery().frame.headers
        #expect(headers["muster-sender"] == "guangchen-town")
        #expect(headers["muster-sender-jurisdiction"] == "pinghu")
        #expect(headers["muster-timestamp"] == "1234567")
        #expect(headers["x-stream-offset"] == "42")
        #expect(headers["message-id"] == "m-42")
    }

    @Test func forgedSenderHeadersInAStoredPublicationAreDropped() {
        let forged = StompHeaders([("muster-sender", "langxia-town"), ("muster-sender-jurisdiction", "jinshan"), ("muster-timestamp", "1")])
        let headers = delivery(headers: forged).frame.headers
        #expect(headers.entries.filter { $0.name.hasPrefix("muster-sender") }.map(\.value) == ["guangchen-town", "pinghu"])
        #expect(headers.entries.filter { $0.name == "muster-timestamp" }.map(\.value) == ["1234567"])
    }

    @Test func bodyBytesPassThroughUnchanged() {
        let bytes: [UInt8] = [0, 1, 0xFF, 10]
        let message = StoredMessage(offset: 1, timestamp: 0, publication: Publication(destination: workOrdersQueue, headers: [:], body: bytes, sender: langxiaTown))
        let frame = Delivery(sessionID: 1, subscriptionID: "s", message: message, ackID: nil, deliveryCount: 1).frame
        #expect(frame.body == bytes)
        #expect(frame.headers["destination"] == "/queue/work-orders")
    }

    @Test("The wire bytes built around a message's shared headers are the frame's encoding",
          arguments: [(UInt64?.none, 1), (UInt64?.some(17), 1), (UInt64?.some(18), 3)])
    func encodedFrameIsTheFramesEncoding(ackID: UInt64?, deliveryCount: Int) {
        let awkward = StompHeaders([("content-type", "text/plain"), ("x-note", "a:b\nc\\d"), ("x:colon", "v"), ("subscription", "forged")])
        for text in ["hello", ""] {
            var delivery = delivery(headers: awkward, ackID: ackID, deliveryCount: deliveryCount, text: text)
            let expected = StompFrameEncoder.encode(delivery.frame)
            #expect(delivery.encodedFrame() == expected, "encoding the shared headers here")
            delivery.shared = SharedMessageHeaders(delivery.message)
            #expect(delivery.encodedFrame() == expected, "with shared headers encoded beforehand")
        }
    }

    @Test func deliveriesOfOneTopicMessageShareOneEncodingOfItsHeaders() throws {
        var core = BrokerCore(rules: DeliveryRules())
        for (session, id) in [(UInt64(1), "a"), (2, "b"), (3, "c")] {
            core.attach(sessionID: session, party: guangchenTown)
            _ = try core.subscribe(sessionID: session, subscriptionID: id, destination: patrolTopic, mode: .auto, prefetch: nil, now: 0)
        }
        let deliveries = core.route(stored(7, to: patrolTopic, text: "joint patrol at 08:00"))
        #expect(deliveries.count == 3)
        let shared = try #require(deliveries.first?.shared)
        #expect(deliveries.allSatisfy { $0.shared === shared })
        #expect(deliveries.map { $0.encodedFrame() } == deliveries.map { StompFrameEncoder.encode($0.frame) })
    }
}
