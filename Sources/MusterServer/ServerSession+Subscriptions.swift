import MusterBroker
import MusterProtocol

/// Subscriptions: the broker routes live and tracked ones; replays and live subscribers that
/// fell behind are served by readers from the log. `SessionSubscriptions` decides; this performs.
extension ServerSession {
    func subscribe(_ id: String, to destination: Destination, mode: AckMode, prefetch: Int?, replay: ReplayRequest?,
                   durable: Bool, receipt: String?) {
        // A peer's link is durable by its own log: `durable` asks nothing more of this broker.
        if ExportService.isExportDestination(destination) {
            return startExport(id, of: destination, mode: mode, prefetch: prefetch, start: replay?.start, receipt: receipt)
        }
        if let replay, !durable {
            return startReplay(id, of: destination, mode: mode, prefetch: prefetch, request: replay, receipt: receipt)
        }
        attempt(receipt) { [self] () throws(BrokerError) in
            do throws(BrokerError) {
                try subscriptions.withLock { subscriptions throws(BrokerError) in try subscriptions.checkFree(id) }
                let start = try replay.flatMap { replay throws(BrokerError) in try history?.startOffset(of: replay.start, destination: destination) }
                try broker.subscribe(sessionID: sessionID!, party: machine!.party, subscriptionID: id, destination: destination,
                                     mode: mode, prefetch: prefetch, durable: durable, start: start)
                try subscriptions.withLock { subscriptions throws(BrokerError) in try subscriptions.addRouted(id) }
                if durable, destination.kind == .topic { consumers?.saveRegistry() }
            } catch {
                machine?.subscriptionRefused()
                throw error
            }
        }
    }

    func unsubscribe(_ id: String, durable: Bool) throws(BrokerError) {
        if case .replay = subscriptions.withLock({ $0.serving(id) }) {
            subscriptions.withLock { $0.remove(id) }
            streams.removeValue(forKey: id)?.stop()
            return
        }
        try broker.unsubscribe(sessionID: sessionID!, subscriptionID: id, deleteDurable: durable)
        subscriptions.withLock { $0.remove(id) }
        streams.removeValue(forKey: id)?.stop()
        if durable { consumers?.saveRegistry() }
    }

    private func startReplay(_ id: String, of destination: Destination, mode: AckMode, prefetch: Int?,
                             request: ReplayRequest, receipt: String?) {
        do throws(BrokerError) {
            guard let history else { throw BrokerError(.storageFailure, "this broker keeps no log to replay from") }
            try subscriptions.withLock { subscriptions throws(BrokerError) in try subscriptions.checkFree(id) }
            if let refusal = broker.gate.checkSubscribe(destination, by: machine!.party) { throw refusal.reported }
            let start = try history.startOffset(of: request.start, destination: destination)
            let serial = try subscriptions.withLock { subscriptions throws(BrokerError) in try subscriptions.addReplay(id) }
            var state = ReplayState(subscriptionID: id, destination: destination, mode: mode, prefetch: prefetch,
                                    end: history.resolve(request.end), serial: serial)
            state.includeAcks = request.includeAcks
            let stream = ReplayStream(state: state, history: history, startOffset: start, channel: channel, version: version, logger: logger)
            streams[id] = stream
            if let receipt { send(.receipt(receipt)) }
            logger.debug("replay", metadata: ["subscription": "\(id)", "destination": "\(destination)", "from": "\(start)"])
            stream.start()
        } catch {
            machine?.subscriptionRefused()
            refuse(error, receipt: receipt)
        }
    }

    /// ACK or NACK: a replay's delivery is settled in its stream; a consumer's in the broker,
    /// whose RECEIPT waits until the acknowledgement is recorded in the log.
    func settle(_ ackID: String, receipt: String?,
                _ body: (_ recorded: (@Sendable (BrokerError?) -> Void)?) throws(BrokerError) -> Void) {
        do throws(BrokerError) {
            if let id = try subscriptions.withLock({ subscriptions throws(BrokerError) in try subscriptions.replay(owningAck: ackID) }) {
                // A replay re-reads the log on request; a NACK only settles the delivery.
                guard let stream = streams[id] else { throw BrokerError(.unknownAck, "ack id '\(ackID)' belongs to no replay subscription of this connection") }
                try stream.acknowledge(ackID)
                if let receipt { send(.receipt(receipt)) }
                return
            }
            guard let receipt else { return try body(nil) }
            try body { [self] (failure: BrokerError?) in
                if let failure {
                    channel.loop.execute { [self] in refuse(failure, receipt: receipt) }
                } else {
                    send(.receipt(receipt))
                }
            }
        } catch {
            refuse(error, receipt: receipt)
        }
    }

    /// ACK or NACK of STOMP 1.0 or 1.1, which names a message: settles this connection's
    /// unsettled delivery of it (on the named subscription, if any), replay or broker's.
    func settle(_ reference: MessageReference, receipt: String?,
                _ body: (_ ackID: String, _ recorded: (@Sendable (BrokerError?) -> Void)?) throws(BrokerError) -> Void) {
        let replays = subscriptions.withLock { $0.replayIDs(named: reference.subscriptionID) }
        let replayAck = replays.lazy.compactMap { [self] id in streams[id]?.state.ackID(ofUnacknowledged: reference.offset) }.first
        let subscriptionID = reference.subscriptionID
        guard let ackID = replayAck ?? broker.inspect({ [sessionID] core in
            sessionID.flatMap { core.ackID(sessionID: $0, subscriptionID: subscriptionID, offset: reference.offset) }.map { String($0) }
        }) else {
            let scope = reference.subscriptionID.map { "subscription '\($0)'" } ?? "this connection"
            return refuse(BrokerError(.unknownAck, "message-id '\(reference.messageID)' names no unacknowledged delivery of \(scope)"), receipt: receipt)
        }
        settle(ackID, receipt: receipt) { recorded throws(BrokerError) in try body(ackID, recorded) }
    }

    /// Runs `body`; the RECEIPT if it succeeded, the refusal if not.
    func attempt(_ receipt: String?, _ body: () throws(BrokerError) -> Void) {
        do throws(BrokerError) {
            try body()
            if let receipt { send(.receipt(receipt)) }
        } catch {
            refuse(error, receipt: receipt)
        }
    }

    // MARK: DeliveryTarget

    /// Unsent bytes beyond which tracked consumers stop handing this connection more.
    static let consumerHighWater = 256 << 10

    var hasRoom: Bool { channel.approximateBacklog < Self.consumerHighWater }

    /// Runs under the broker's lock, on whichever thread routed the message.
    func deliver(_ delivery: Delivery) {
        guard history != nil, !delivery.tracked, delivery.message.destination.kind == .topic else {
            return writeFrame(of: delivery)
        }
        let decision = subscriptions.withLock { subscriptions in
            subscriptions.decide(subscriptionID: delivery.subscriptionID, offset: delivery.message.offset, backlog: channel.approximateBacklog)
        }
        switch decision {
        case .write:
            writeFrame(of: delivery)
        case .drop:
            break
        case .follow(let offset):
            let destination = delivery.message.destination
            channel.loop.execute { [self] in startFollower(delivery.subscriptionID, of: destination, from: offset) }
        }
    }

    // MARK: Lagging live subscribers

    /// A live topic subscriber whose connection holds more than `laggingHighWater` unsent bytes
    /// stops receiving pushed messages; a reader serves it from the log at the pace it reads,
    /// and hands it back to live delivery once it has caught up.
    private func startFollower(_ id: String, of destination: Destination, from offset: UInt64) {
        guard let history, streams[id] == nil, subscriptions.withLock({ $0.lagging[id] != nil }) else { return }
        logger.notice("subscriber is behind; serving it from the log", metadata: ["subscription": "\(id)", "from": "\(offset)"])
        let state = ReplayState(subscriptionID: id, destination: destination, mode: .auto, prefetch: nil, end: nil, serial: 0)
        let follower = ReplayStream(state: state, history: history, startOffset: offset, channel: channel, version: version, logger: logger,
                                    caughtUp: { [weak self] next in self?.rejoin(id, at: next) ?? true })
        streams[id] = follower
        follower.start()
    }

    /// Hands a caught-up subscriber back to live delivery if nothing new is durable; with routing
    /// paused, every message below `next` was read from the log, and every later one is routed after this.
    private func rejoin(_ id: String, at next: UInt64) -> Bool {
        guard let history else { return true }
        let joined = broker.whileRoutingPaused { () -> Bool in
            guard history.nextOffset == next else { return false }
            subscriptions.withLock { $0.rejoin(subscriptionID: id, at: next) }
            return true
        }
        if joined {
            streams[id] = nil
            logger.info("subscriber caught up; live delivery again", metadata: ["subscription": "\(id)", "at": "\(next)"])
        }
        return joined
    }
}
