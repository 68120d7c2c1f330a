import Testing
@testable import MusterBroker
import MusterStomp

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
        case .subscribe(let id, let destination, let mode, let prefetch, let replay, let receipt):
            return "subscribe \(id) \(destination) \(mode.rawValue) prefetch=\(prefetch.map(String.init) ?? "none")"
                + (replay.map { " replay=\($0.start)" + ($0.end.map { "..\($0)" } ?? "") } ?? "")
                + (receipt.map { " receipt=\($0)" } ?? "")
        case .unsubscribe(let id, let receipt):
            return "unsubscribe \(id)" + (receipt.map { " receipt=\($0)" } ?? "")
        case .acknowledge(let ackID, let receipt):
            return "ack \(ackID)" + (receipt.map { " receipt=\($0)" } ?? "")
        case .reject(let ackID, let requeue, let receipt):
            return "nack \(ackID) requeue=\(requeue)" + (receipt.map { " receipt=\($0)" } ?? "")
        case .commit(let transaction, let actions, let receipt):
            return "commit \(transaction) [\(actions.map(\.summary).joined(separator: "; "))]" + (receipt.map { " receipt=\($0)" } ?? "")
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

extension BrokerCore {
    /// Subscribes and returns the deliveries, with defaults that keep specifications short.
    mutating func subscribe(_ sessionID: UInt64, _ subscriptionID: String, to destination: Destination,
                            mode: AckMode = .auto, prefetch: Int? = nil) throws(BrokerError) -> [Delivery] {
        try subscribe(sessionID: sessionID, subscriptionID: subscriptionID, destination: destination, mode: mode, prefetch: prefetch)
    }
}
