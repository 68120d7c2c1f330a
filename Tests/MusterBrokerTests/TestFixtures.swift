import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol

// Shared vocabulary for the MusterBroker specifications.

let langxiaTown = PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")
let guangchenTown = PartyIdentity(jurisdiction: "pinghu", party: "guangchen-town")

let patrolTopic = Destination(kind: .topic, name: "joint-patrol")
let noticesTopic = Destination(kind: .topic, name: "notices")
let workOrdersQueue = Destination(kind: .queue, name: "work-orders")

/// A publication from `sender` to `destination`.
func publication(to destination: Destination, text: String = "", headers: StompHeaders = [:],
                 sender: PartyIdentity = langxiaTown) -> Publication {
    Publication(destination: destination, headers: headers, body: Array(text.utf8), sender: sender)
}

/// A message as the store would hand it back.
func stored(_ offset: UInt64, to destination: Destination, text: String = "", headers: StompHeaders = [:],
            sender: PartyIdentity = langxiaTown, timestamp: Int64 = 1_700_000_000_000) -> StoredMessage {
    StoredMessage(offset: offset, timestamp: timestamp,
                  publication: publication(to: destination, text: text, headers: headers, sender: sender))
}

// MARK: SessionMachine helpers

/// A machine for `langxiaTown` that has not seen CONNECT yet.
func freshMachine(_ settings: SessionSettings = SessionSettings()) -> SessionMachine {
    SessionMachine(party: langxiaTown, sessionName: "session-7", settings: settings)
}

/// A machine for `langxiaTown` that accepted a plain STOMP 1.2 CONNECT.
func connectedMachine(_ settings: SessionSettings = SessionSettings()) -> SessionMachine {
    var machine = freshMachine(settings)
    let actions = machine.handle(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "muster"]))
    precondition(actions.count == 2, "fixture CONNECT must succeed")
    return machine
}

extension SessionAction {
    /// The frame of a `.send` action.
    var sentFrame: StompFrame? {
        if case .send(let frame) = self { return frame }
        return nil
    }

    var isClose: Bool {
        if case .close = self { return true }
        return false
    }

    /// A short, comparable description of the action.
    var summary: String {
        switch self {
        case .send(let frame):
            let id = frame.headers["receipt-id"].map { " \($0)" } ?? ""
            let code = frame.headers[ReservedHeader.errorCode].map { " \($0)" } ?? ""
            return "send \(frame.command.rawValue)\(code)\(id)"
        case .connected(let agreement):
            return "connected \(agreement.sendEvery),\(agreement.expectEvery)"
        case .publish(let publication, let receipt):
            return "publish \(publication.destination) \(String(decoding: publication.body, as: UTF8.self))" + (receipt.map { " receipt=\($0)" } ?? "")
        case .subscribe(let id, let destination, let mode, let prefetch, let replay, let durable, let receipt):
            let replayText: String = replay.map { " replay=\($0.start)" + ($0.end.map { "..\($0)" } ?? "") } ?? ""
            return "subscribe \(id) \(destination) \(mode.rawValue) prefetch=\(prefetch.map(String.init) ?? "none")"
                + replayText + (durable ? " durable" : "") + (receipt.map { " receipt=\($0)" } ?? "")
        case .unsubscribe(let id, let durable, let receipt):
            return "unsubscribe \(id)" + (durable ? " durable" : "") + (receipt.map { " receipt=\($0)" } ?? "")
        case .query(let query, let receipt):
            return "query \(query.kind.rawValue) reply-to=\(query.replyTo)" + (receipt.map { " receipt=\($0)" } ?? "")
        case .acknowledge(let ackID, let receipt):
            return "ack \(ackID)" + (receipt.map { " receipt=\($0)" } ?? "")
        case .reject(let ackID, let requeue, let receipt):
            return "nack \(ackID) requeue=\(requeue)" + (receipt.map { " receipt=\($0)" } ?? "")
        case .acknowledgeMessage(let reference, let receipt):
            return "ack message \(reference.messageID)" + (reference.subscriptionID.map { " subscription=\($0)" } ?? "") + (receipt.map { " receipt=\($0)" } ?? "")
        case .rejectMessage(let reference, let requeue, let receipt):
            return "nack message \(reference.messageID)" + (reference.subscriptionID.map { " subscription=\($0)" } ?? "")
                + " requeue=\(requeue)" + (receipt.map { " receipt=\($0)" } ?? "")
        case .commit(let transaction, let actions, let receipt):
            return "commit \(transaction) [\(actions.map(\.summary).joined(separator: "; "))]" + (receipt.map { " receipt=\($0)" } ?? "")
        case .refused(let refusal):
            return "refused \(refusal.code.rawValue)"
        case .close:
            return "close"
        }
    }

    /// The publication of a `.publish` action.
    var publication: Publication? {
        if case .publish(let publication, _) = self { return publication }
        return nil
    }
}

/// Expects `actions` to be exactly: an ERROR frame with `code` (echoing `receiptID`), then close.
func expectRefusal(_ actions: [SessionAction], code: ErrorCode, receiptID: String? = nil,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    var actions = actions
    if case .refused(let refusal)? = actions.first {
        #expect(refusal.code == code, "the recorded refusal has the ERROR's code", sourceLocation: sourceLocation)
        actions.removeFirst()
    }
    #expect(actions.count == 2, "expected ERROR then close, got \(actions.map(\.summary))", sourceLocation: sourceLocation)
    guard actions.count == 2, let error = actions[0].sentFrame else {
        Issue.record("no ERROR frame in \(actions.map(\.summary))", sourceLocation: sourceLocation)
        return
    }
    #expect(error.command == .error, sourceLocation: sourceLocation)
    #expect(error.headers[ReservedHeader.errorCode] == code.rawValue, sourceLocation: sourceLocation)
    #expect(error.headers["receipt-id"] == receiptID, sourceLocation: sourceLocation)
    #expect(actions[1].isClose, sourceLocation: sourceLocation)
}

// MARK: Log and consumer helpers

/// A message log for specifications: messages at dense offsets, read back the way the
/// message store reads them for consumers.
struct TestLog {
    private(set) var messages: [StoredMessage] = []

    /// The offset the next message gets.
    var head: UInt64 { UInt64(messages.count) }

    /// Stores a message and returns it.
    @discardableResult
    mutating func append(to destination: Destination, text: String = "", headers: StompHeaders = [:],
                         sender: PartyIdentity = langxiaTown) -> StoredMessage {
        let message = stored(head, to: destination, text: text, headers: headers, sender: sender)
        messages.append(message)
        return message
    }

    /// Stores `count` messages to `destination`.
    mutating func append(_ count: Int, to destination: Destination) {
        for _ in 0..<count { append(to: destination) }
    }

    /// Up to `limit` messages of `destination` from `offset` on, and where the read stopped.
    func read(_ destination: Destination, from offset: UInt64, limit: Int) -> (messages: [StoredMessage], scannedTo: UInt64) {
        var found: [StoredMessage] = []
        var position = offset
        while position < head, found.count < limit {
            if messages[Int(position)].destination == destination { found.append(messages[Int(position)]) }
            position += 1
        }
        return (found, position)
    }

    /// The messages of `destination` at these offsets.
    func read(_ destination: Destination, offsets: [UInt64]) -> [StoredMessage] {
        offsets.compactMap { $0 < head ? messages[Int($0)] : nil }.filter { $0.destination == destination }
    }
}

/// Subscriptions of three connections, for consumer specifications.
let subscriberA = SubscriberKey(sessionID: 1, subscriptionID: "a")
let subscriberB = SubscriberKey(sessionID: 2, subscriptionID: "b")
let subscriberC = SubscriberKey(sessionID: 3, subscriptionID: "c")

/// One consumer with its log and ack id counter, driven the way the broker drives it; time is
/// whatever `now` a specification passes.
struct ConsumerRig {
    static let generation: UInt64 = 7

    var consumer: ConsumerState
    var log = TestLog()
    var ackIDs: UInt64

    init(_ destination: Destination = workOrdersQueue, name: ConsumerName? = nil, policy: DeliveryPolicy = DeliveryPolicy(),
         readCursor: UInt64 = 0, firstAckID: UInt64 = 0) {
        consumer = ConsumerState(name: name ?? .queue(destination), generation: Self.generation, destination: destination,
                                 policy: policy, readCursor: readCursor)
        ackIDs = firstAckID
    }

    var destination: Destination { consumer.destination }

    /// Stores `count` messages to the consumer's destination.
    mutating func publish(_ count: Int = 1) { log.append(count, to: destination) }

    mutating func attach(_ key: SubscriberKey, party: PartyIdentity = guangchenTown, mode: AckMode = .clientIndividual, limit: Int = 10) {
        consumer.attach(key, party: party, mode: mode, limit: limit)
    }

    /// Serves the consumer's demand from the log once, as the broker's pump does (nothing if it demands nothing).
    mutating func pump(now: Int64) -> ConsumerOutput {
        switch consumer.demand(head: log.head) {
        case nil:
            return ConsumerOutput()
        case .read(let from, let limit)?:
            let (messages, scannedTo) = log.read(destination, from: from, limit: limit)
            return consumer.offer(messages, scannedTo: scannedTo, now: now, ackIDs: &ackIDs)
        case .fetch(let offsets)?:
            return consumer.offer(log.read(destination, offsets: offsets), scannedTo: nil, now: now, ackIDs: &ackIDs)
        }
    }

    mutating func ack(_ delivery: Delivery, now: Int64) throws(BrokerError) -> ConsumerOutput {
        try consumer.acknowledge(ackID: delivery.ackID ?? 0, from: delivery.subscriber, now: now, ackIDs: &ackIDs)
    }

    mutating func nack(_ delivery: Delivery, requeue: Bool, now: Int64) throws(BrokerError) -> ConsumerOutput {
        try consumer.reject(ackID: delivery.ackID ?? 0, from: delivery.subscriber, requeue: requeue, now: now, ackIDs: &ackIDs)
    }

    mutating func tick(now: Int64) -> ConsumerOutput { consumer.tick(now: now, ackIDs: &ackIDs) }

    mutating func detach(_ key: SubscriberKey, now: Int64) -> ConsumerOutput { consumer.detach(key, now: now, ackIDs: &ackIDs) }
}

extension ConsumerOutput {
    /// The deliveries' summaries ("1/a m-0 #1").
    var summaries: [String] { deliveries.map(\.summary) }
    /// The events' summaries ("delivered m-0 a #1").
    var eventSummaries: [String] { events.map(\.summary) }
}

extension LedgerEvent {
    /// "kind m-offset subscription #count".
    var summary: String { "\(kind.rawValue) m-\(offset) \(subscriptionID) #\(deliveryCount)" }
}

// MARK: BrokerCore helpers

extension Delivery {
    /// "session/subscription m-offset #count".
    var summary: String { "\(sessionID)/\(subscriptionID) \(message.messageID) #\(deliveryCount)" }

    /// The ack id as a client would echo it in an ACK frame.
    var ackHeader: String {
        guard let ackID else { preconditionFailure("delivery \(summary) has no ack id") }
        return String(ackID)
    }
}

extension Delivery {
    var subscriber: SubscriberKey { SubscriberKey(sessionID: sessionID, subscriptionID: subscriptionID) }
}

extension BrokerCore {
    /// Subscribes, with defaults that keep specifications short.
    mutating func subscribe(_ sessionID: UInt64, _ subscriptionID: String, to destination: Destination,
                            mode: AckMode = .auto, prefetch: Int? = nil, durable: Bool = false, start: UInt64? = nil,
                            now: Int64 = 0) throws(BrokerError) -> ConsumerOutput {
        try subscribe(sessionID: sessionID, subscriptionID: subscriptionID, destination: destination, mode: mode,
                      prefetch: prefetch, durable: durable, start: start, now: now)
    }

    mutating func unsubscribe(_ sessionID: UInt64, _ subscriptionID: String, deleteDurable: Bool = false,
                              now: Int64 = 0) throws(BrokerError) -> ConsumerOutput {
        try unsubscribe(sessionID: sessionID, subscriptionID: subscriptionID, deleteDurable: deleteDurable, now: now)
    }

    mutating func acknowledge(_ sessionID: UInt64, _ delivery: Delivery, now: Int64 = 0) throws(BrokerError) -> ConsumerOutput {
        try acknowledge(sessionID: sessionID, ackID: delivery.ackHeader, now: now)
    }

    mutating func reject(_ sessionID: UInt64, _ delivery: Delivery, requeue: Bool, now: Int64 = 0) throws(BrokerError) -> ConsumerOutput {
        try reject(sessionID: sessionID, ackID: delivery.ackHeader, requeue: requeue, now: now)
    }

    /// Stores a message in `log` and routes it; returns what was pushed to live topic subscribers.
    mutating func publish(to destination: Destination, in log: inout TestLog, text: String = "") -> [Delivery] {
        route(log.append(to: destination, text: text))
    }

    /// One round of the broker's pump: serves every consumer's demand from `log`.
    mutating func pump(_ log: TestLog, now: Int64 = 0) -> ConsumerOutput {
        var output = ConsumerOutput()
        for (name, destination, demand) in demands(head: log.head) {
            switch demand {
            case .read(let from, let limit):
                let (messages, scannedTo) = log.read(destination, from: from, limit: limit)
                output.append(offer(to: name, messages, scannedTo: scannedTo, now: now))
            case .fetch(let offsets):
                output.append(offer(to: name, log.read(destination, offsets: offsets), scannedTo: nil, now: now))
            }
        }
        return output
    }
}
