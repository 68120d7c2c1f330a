public import MusterStomp
public import MusterProtocol

/// The STOMP protocol (1.2, 1.1 or 1.0) of one connection, as a pure state machine: frames in,
/// actions out. It validates every frame, negotiates the session, keeps transactions, and turns
/// SEND/SUBSCRIBE/ACK… into broker actions. The connection performs the actions.
public struct SessionMachine: Sendable {
    enum Phase: Equatable, Sendable { case awaitingConnect, connected, closed }

    public let party: PartyIdentity
    public let sessionName: String
    public let settings: SessionSettings
    private(set) var phase: Phase = .awaitingConnect
    /// The negotiated version (1.2 until CONNECT): how the connection escapes headers and
    /// what an ACK names.
    public private(set) var version = StompVersion.v1_2
    private var subscriptionCount = 0
    private var transactions: OpenTransactions

    public init(party: PartyIdentity, sessionName: String, settings: SessionSettings) {
        self.party = party
        self.sessionName = sessionName
        self.settings = settings
        self.transactions = OpenTransactions(limits: .init(frames: settings.maxTransactionFrames, bytesPerTransaction: settings.maxTransactionBytes,
                                                           bytesPerConnection: settings.maxTransactionBytesPerConnection, open: settings.maxOpenTransactions))
    }

    public var isClosed: Bool { phase == .closed }

    /// Handles one decoded frame.
    public mutating func handle(_ frame: StompFrame) -> [SessionAction] {
        let receipt = frame.headers["receipt"]
        do throws(BrokerError) {
            switch phase {
            case .closed:
                return []
            case .awaitingConnect:
                guard frame.command == .connect || frame.command == .stomp else {
                    throw BrokerError(.notConnected, "expected CONNECT, got \(frame.command.rawValue)")
                }
                return try connect(frame)
            case .connected:
                return try handleConnected(frame, receipt: receipt)
            }
        } catch {
            return evidence(of: error, in: frame) + fail(error, receiptID: receipt)
        }
    }

    /// Refusals by the broker's built-in rules that the audit destination records.
    private func evidence(of error: BrokerError, in frame: StompFrame) -> [SessionAction] {
        let rule: String
        switch error.code {
        case .reservedHeader: rule = "built-in rule: headers the broker writes (sender, time, workflow stamps, delivery records) are the broker's alone"
        case .notAuthorized: rule = "built-in rule: muster.* destinations belong to the broker"
        default: return []
        }
        let destination = frame.headers["destination"].flatMap { try? Destination(parsing: $0) }
        return [.refused(PolicyRefusal(error, rule: rule, party: party, destination: destination, type: frame.headers[ReservedHeader.type]))]
    }

    /// Refuses and closes the session (also used by the connection for decoder errors,
    /// heart-beat timeouts and broker refusals).
    public mutating func fail(_ error: BrokerError, receiptID: String? = nil) -> [SessionAction] {
        guard phase != .closed else { return [] }
        phase = .closed
        return [.send(.error(error, receiptID: receiptID)), .close]
    }

    /// The STOMP versions this broker speaks (the `version` header of an unsupported-version ERROR).
    public static let spokenVersions = StompVersion.spoken

    /// Bookkeeping when the connection reports that a subscription was refused by the broker.
    public mutating func subscriptionRefused() {
        subscriptionCount = max(0, subscriptionCount - 1)
    }

    private mutating func connect(_ frame: StompFrame) throws(BrokerError) -> [SessionAction] {
        // No accept-version: a STOMP 1.0 client.
        let offered = frame.headers["accept-version"]
        guard let version = StompVersion.negotiate(acceptVersion: offered) else {
            throw BrokerError(.unsupportedVersion, "this broker speaks STOMP \(Self.spokenVersions); the client offered \(offered ?? "")")
        }
        var client = (send: 0, want: 0)
        // STOMP 1.0 has no heart-beats: its header is ignored.
        if version > .v1_0, let text = frame.headers["heart-beat"] {
            guard let parsed = HeartbeatAgreement.parse(text) else {
                throw BrokerError(.invalidHeader, "heart-beat '\(text)' must be two non-negative integers, like 10000,10000")
            }
            client = parsed
        }
        let agreement = HeartbeatAgreement.negotiate(client: client, server: (settings.heartbeatSend, settings.heartbeatWant))
        phase = .connected
        self.version = version
        var connected = StompFrame(.connected, headers: [
            "version": version.rawValue,
            "session": sessionName,
            "server": settings.serverName,
            "heart-beat": "\(agreement.sendEvery),\(agreement.expectEvery)",
            ReservedHeader.party: party.uri,
        ])
        if version == .v1_0 { connected.headers["heart-beat"] = nil }
        return [.send(connected), .connected(agreement)]
    }

    private mutating func handleConnected(_ frame: StompFrame, receipt: String?) throws(BrokerError) -> [SessionAction] {
        switch frame.command {
        case .connect, .stomp:
            throw BrokerError(.alreadyConnected, "this connection is already connected")
        case .send:
            if frame.headers["destination"] == AckQuery.destination.description {
                guard frame.headers["transaction"] == nil else {
                    throw BrokerError(.invalidQuery, "a query cannot be part of a transaction")
                }
                return [.query(try AckQuery.parse(frame.headers), receipt: receipt)]
            }
            return try inTransaction(frame, action: try publication(frame), receipt: receipt)
        case .subscribe:
            return try subscribe(frame, receipt: receipt)
        case .unsubscribe:
            let id = try required("id", in: frame)
            let durable = try flag("durable", in: frame, default: false)
            subscriptionCount = max(0, subscriptionCount - 1)
            return [.unsubscribe(id: id, durable: durable, receipt: receipt)]
        case .ack:
            guard version == .v1_2 else {
                return try inTransaction(frame, action: .acknowledgeMessage(try messageReference(in: frame), receipt: nil), receipt: receipt)
            }
            return try inTransaction(frame, action: .acknowledge(ackID: try required("id", in: frame), receipt: nil), receipt: receipt)
        case .nack:
            guard version != .v1_0 else {
                throw BrokerError(.malformedFrame, "NACK is not part of STOMP 1.0; connect with accept-version 1.1 or 1.2 to use it")
            }
            let requeue = try flag("requeue", in: frame, default: true)
            guard version == .v1_2 else {
                return try inTransaction(frame, action: .rejectMessage(try messageReference(in: frame), requeue: requeue, receipt: nil), receipt: receipt)
            }
            return try inTransaction(frame, action: .reject(ackID: try required("id", in: frame), requeue: requeue, receipt: nil), receipt: receipt)
        case .begin:
            try transactions.begin(try required("transaction", in: frame))
            return receiptActions(receipt)
        case .commit:
            let id = try required("transaction", in: frame)
            guard let actions = transactions.end(id) else {
                throw BrokerError(.unknownTransaction, "COMMIT names transaction '\(id)', which is not open")
            }
            return [.commit(transaction: id, actions: actions, receipt: receipt)]
        case .abort:
            let id = try required("transaction", in: frame)
            guard transactions.end(id) != nil else {
                throw BrokerError(.unknownTransaction, "ABORT names transaction '\(id)', which is not open")
            }
            return receiptActions(receipt)
        case .disconnect:
            phase = .closed
            return receiptActions(receipt) + [.close]
        case .connected, .message, .receipt, .error:
            throw BrokerError(.malformedFrame, "\(frame.command.rawValue) is a server frame; clients may not send it")
        }
    }

    private func receiptActions(_ receipt: String?) -> [SessionAction] {
        receipt.map { [.send(.receipt($0))] } ?? []
    }

    /// Buffers SEND/ACK/NACK inside a transaction, or passes them on.
    private mutating func inTransaction(_ frame: StompFrame, action: SessionAction, receipt: String?) throws(BrokerError) -> [SessionAction] {
        guard let id = frame.headers["transaction"] else {
            return [action.withReceipt(receipt)]
        }
        if frame.command == .send, frame.headers[PublishHeader.id] != nil {
            throw BrokerError(.invalidHeader, "\(PublishHeader.id) cannot be used inside a transaction (a transaction commits once, "
                              + "so a repeat would be a new transaction): send the message outside the transaction, or without the id")
        }
        // The RECEIPT of a frame inside a transaction waits for the COMMIT (for a SEND, until the
        // transaction is durable); an aborted transaction's frames get none.
        let size = frame.body.count + frame.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 }
        try transactions.add(action.withReceipt(receipt), size: size, to: id, command: frame.command.rawValue)
        return []
    }

    private func publication(_ frame: StompFrame) throws(BrokerError) -> SessionAction {
        let destination = try Destination(parsing: try required("destination", in: frame))
        // A peer broker tells the exporter, on its own export destination, which records it refused.
        if destination.kind == .queue, destination.isReserved, party.party == PartyIdentity.brokerParty,
           destination.name.hasPrefix(FederationHeader.exportDestinationPrefix) {
            var headers = StompHeaders()
            for (name, value) in frame.headers where !ReservedHeader.sendControl.contains(name) { headers.append(name, value) }
            return .publish(Publication(destination: destination, headers: headers, body: frame.body, sender: party), receipt: nil)
        }
        if destination.isReserved {
            throw BrokerError(.notAuthorized, "\(destination) is reserved for the broker; clients may send only queries, to \(AckQuery.destination)")
        }
        var headers = StompHeaders()
        for (name, value) in frame.headers {
            if ReservedHeader.refusedOnSend.contains(name) {
                throw BrokerError(.reservedHeader, "the header \(name) is set by the broker, not by clients")
            }
            if name == PublishHeader.id && (value.isEmpty || value.utf8.count > 256) {
                throw BrokerError(.invalidHeader, "\(name) must be 1 to 256 bytes: the publisher's own id for this message, the same on every resend")
            }
            if !ReservedHeader.sendControl.contains(name) { headers.append(name, value) }
        }
        return .publish(Publication(destination: destination, headers: headers, body: frame.body, sender: party), receipt: nil)
    }

    private mutating func subscribe(_ frame: StompFrame, receipt: String?) throws(BrokerError) -> [SessionAction] {
        let id = try required("id", in: frame)
        let destination = try Destination(parsing: try required("destination", in: frame))
        let modeText = frame.headers["ack"] ?? "auto"
        guard let mode = AckMode(rawValue: modeText) else {
            throw BrokerError(.invalidHeader, "ack '\(modeText)' must be auto, client or client-individual")
        }
        var prefetch: Int?
        if let text = frame.headers["prefetch-count"] {
            guard let value = Int(text), value >= 0 else {
                throw BrokerError(.invalidHeader, "prefetch-count '\(text)' must be a non-negative integer")
            }
            prefetch = value == 0 ? nil : value
        }
        let replay = try ReplayRequest.parse(start: frame.headers[ReplayRequest.startHeader], end: frame.headers[ReplayHeader.until],
                                             includeAcks: frame.headers[ReplayHeader.includeAcks])
        let durableFlag = try flag("durable", in: frame, default: false)
        let persistentFlag = try flag("persistent", in: frame, default: false)  // RabbitMQ's older spelling
        let durable = durableFlag || persistentFlag
        if durable, replay?.end != nil || replay?.includeAcks == true {
            throw BrokerError(.invalidHeader, "a durable subscription has no end and carries messages only; drop \(ReplayHeader.until) and \(ReplayHeader.includeAcks), or subscribe without durable:true")
        }
        if destination == AckQuery.destination {
            throw BrokerError(.invalidDestination, "\(destination) takes queries; subscribe to a \(AckQuery.replyPrefix)NAME destination for the answers")
        }
        guard subscriptionCount < settings.maxSubscriptions else {
            throw BrokerError(.tooManySubscriptions, "this connection already has \(settings.maxSubscriptions) subscriptions")
        }
        subscriptionCount += 1
        return [.subscribe(id: id, destination: destination, mode: mode, prefetch: prefetch, replay: replay, durable: durable, receipt: receipt)]
    }

    /// What an ACK or NACK of STOMP 1.0 or 1.1 names: `message-id` (and in 1.1 `subscription`).
    private func messageReference(in frame: StompFrame) throws(BrokerError) -> MessageReference {
        let messageID = try required("message-id", in: frame)
        let subscriptionID = version == .v1_1 ? try required("subscription", in: frame) : frame.headers["subscription"]
        guard let reference = MessageReference(messageID: messageID, subscriptionID: subscriptionID) else {
            throw BrokerError(.unknownAck, "message-id '\(messageID)' names no message this broker delivered")
        }
        return reference
    }

    private func required(_ name: String, in frame: StompFrame) throws(BrokerError) -> String {
        guard let value = frame.headers[name], !value.isEmpty else {
            throw BrokerError(.missingHeader, "\(frame.command.rawValue) needs a '\(name)' header")
        }
        return value
    }

    private func flag(_ name: String, in frame: StompFrame, default defaultValue: Bool) throws(BrokerError) -> Bool {
        guard let value = frame.headers[name] else { return defaultValue }
        guard let flag = BooleanHeader.parse(value) else { throw BrokerError(.invalidHeader, "\(name) '\(value)' must be true or false") }
        return flag
    }
}

extension SessionAction {
    public func withReceipt(_ receipt: String?) -> SessionAction {
        switch self {
        case .publish(let publication, _): return .publish(publication, receipt: receipt)
        case .acknowledge(let id, _): return .acknowledge(ackID: id, receipt: receipt)
        case .reject(let id, let requeue, _): return .reject(ackID: id, requeue: requeue, receipt: receipt)
        case .acknowledgeMessage(let reference, _): return .acknowledgeMessage(reference, receipt: receipt)
        case .rejectMessage(let reference, let requeue, _): return .rejectMessage(reference, requeue: requeue, receipt: receipt)
        default: return self
        }
    }
}
