import MusterBroker
import MusterClient
import MusterProtocol
import MusterStomp

/// What a link does with each record the peer sends: stores it through the policy, records its
/// refusal or the gap it reports, and, once that is durable, lets the acknowledgement move.
extension FederationLink {
    /// Decides about one record and hands it to the broker; its completion acknowledges it.
    /// `previous`: the record read before it on this connection (becomes this one).
    func take(_ message: ReceivedMessage, previous: inout InboundRecord.Previous?, session: Int, signal: AsyncStream<Void>.Continuation) async throws {
        if let gap = message.headers[FederationHeader.gap] { return try takeGap(gap, message, session: session, signal: signal) }
        let record: InboundRecord
        do { record = try InboundRecord(headers: message.headers, body: message.body, previous: previous) } catch {
            throw LinkFailure("\(error.message)")
        }
        previous = record.asPrevious
        let (decision, ticket, stores) = state.withLock { state in (state.link.consider(record.link), state.acks.received((message, record.link)), state.stores) }
        switch decision {
        case .halt(let alarm):
            throw LinkFailure("halted: \(alarm)")
        case .duplicate:
            state.withLock { $0.status.duplicatesDropped += 1 }
            settle(ticket, session: session, signal: signal)
        case .take:
            if let originKeys {
                var claim = originKeys.claim(record.originKey)
                // Another link is storing a copy: wait for it (it may fail, or be refused for its
                // route), holding this link's later records back so that they keep their order.
                while claim == .pending {
                    try await Task.sleep(for: .milliseconds(2))
                    claim = originKeys.claim(record.originKey)
                }
                if claim == .stored {
                    // A copy that came by another route is stored: dropped, and taken once every
                    // record before it is (`settle`).
                    state.withLock { $0.status.duplicatesDropped += 1 }
                    return settle(ticket, session: session, signal: signal)
                }
            }
            state.withLock { $0.inFlight += 1 }
            let peer = settings.peer.jurisdiction
            switch record.plan(from: peer, here: settings.jurisdiction, rules: federation.rules, lane: settings.lane) {
            case .success(var publication):
                publication.sequence = stores
                let stored: @Sendable (Result<StoredMessage, BrokerError>) -> Void = { [self] result in
                    switch result {
                    case .success(let stored):
                        originKeys?.stored(record.originKey)
                        taken(record, localOffset: stored.offset, refused: false, ticket: ticket, session: session, signal: signal)
                    case .failure(let error):
                        originKeys?.released(record.originKey)
                        fail("cannot store what \(peer) sent: \(error.message)", session: session)
                    }
                }
                if publication.destination == CheckpointHeader.destination {
                    if let refusal = LogCheckpoint.importRefusal(publication.body, from: settings.peer, linkLogID: record.link.logID) {
                        refuse(record, refusal, ofRoute: false, ticket: ticket, session: session, stores: stores, signal: signal)
                    } else {
                        broker.storeVerifiedImport(LogCheckpoint.importedCopy(publication), stored: stored)
                    }
                } else if let refusal = publication.headers[WorkflowHeader.event] != nil  // only a broker writes it (refused on a client's SEND)
                            && federation.rules.isCrossBorderWorkflowRecord(from: peer, type: publication.headers[ReservedHeader.type],
                                                                            caseID: publication.headers[WorkflowHeader.id])
                            ? broker.importWorkflowRecord(publication, from: peer, stored: stored)
                            : broker.publishImported(publication, stored: stored) {
                    refuse(record, refusal, ofRoute: false, ticket: ticket, session: session, stores: stores, signal: signal)
                }
            case .failure(let reason):
                refuse(record, reason, ofRoute: true, ticket: ticket, session: session, stores: stores, signal: signal)
            }
        }
    }

    /// Records the refusal, queued (in the link's sequence) before the next record is. `ofRoute`:
    /// refused for the route it came by (`InboundRecord.plan`), not by the policy.
    private func refuse(_ record: InboundRecord, _ reason: BrokerError, ofRoute: Bool, ticket: UInt64, session: Int, stores: StoreSequence,
                        signal: AsyncStream<Void>.Continuation) {
        let peer = settings.peer.jurisdiction
        logger.warning("federation import refused", metadata: ["peer": "\(peer)", "origin": "\(record.origin)", "reason": "\(reason.message)"])
        var refusal = record.refusalRecord(from: peer, reason: reason, broker: settings.brokerIdentity, lane: settings.lane, ofRoute: ofRoute)
        refusal.sequence = stores
        broker.publishAsBroker(refusal) { [self] result in
            switch result {
            case .success(let stored):
                // Refused for its route: another route's copy may still be taken. Refused by the
                // policy: decided, for every route (a copy would only be refused and counted again).
                if ofRoute { originKeys?.released(record.originKey) } else { originKeys?.stored(record.originKey) }
                // The origin hears of it too, where its sender's refusals are recorded. Not of a
                // relayed record: the relay's log does not hold it, so it could not record it.
                if record.via.isEmpty {
                    let notice = record.refusalNotice(reason, to: exportDestination)
                    state.withLock { $0.noticesDue.append(notice) }
                }
                taken(record, localOffset: stored.offset, refused: true, ticket: ticket, session: session, signal: signal)
            case .failure(let error):
                originKeys?.released(record.originKey)
                fail("cannot record the refusal of \(record.origin): \(error.message)", session: session)
            }
        }
    }

    private enum Outcome { case imported, refused, gap }

    private func taken(_ record: InboundRecord, localOffset: UInt64, refused: Bool, ticket: UInt64, session: Int,
                       signal: AsyncStream<Void>.Continuation) {
        taken(record.link, originTime: record.originMilliseconds, peerLogHead: record.peerLogHead,
              outcome: refused ? .refused : .imported, localOffset: localOffset, ticket: ticket, session: session, signal: signal)
    }

    /// On the log writer's thread, once the record is stored: kept to one lock.
    private func taken(_ position: ImportLink.Position, originTime: Int64?, peerLogHead: UInt64? = nil, outcome: Outcome, localOffset: UInt64,
                       ticket: UInt64, session: Int, signal: AsyncStream<Void>.Continuation) {
        let now = broker.clock()
        // The hint before the record stops counting as in flight: a successor link (after
        // `stopAndWait`) then never has its newer hint overwritten by this one.
        onTaken(localOffset, position)
        // Nothing of a connection is stored past a record of it that was not (`State.stores`),
        // so every record stored is taken, even after the connection failed.
        let due = state.withLock { state -> Bool in
            state.link.taken(position)
            if let originTime { state.status.lastOriginTime = originTime }
            if let peerLogHead { state.status.peerLogHead = peerLogHead }
            state.status.lastImportedAt = now
            switch outcome {
            case .imported: state.status.imported += 1
            case .refused: state.status.refused += 1
            case .gap: state.status.gaps += 1
            }
            state.inFlight -= 1
            return Self.settle(ticket, session: session, in: &state)
        }
        if due { signal.yield() }
    }

    /// The peer reports records pruned before this link took them: recorded here (the record's
    /// `muster-link` moves the position past them), shown in the status, and never silent.
    private func takeGap(_ gap: String, _ message: ReceivedMessage, session: Int, signal: AsyncStream<Void>.Continuation) throws {
        let peer = settings.peer.jurisdiction
        guard let linkText = message.headers[FederationHeader.link], let end = FederationHeader.parseOrigin(linkText) else {
            throw LinkFailure("the peer sent a gap (\(gap)) without \(FederationHeader.link)")
        }
        let position = ImportLink.Position(logID: end.logID, offset: end.offset, hash: nil)
        let (decision, ticket, stores) = state.withLock { state in (state.link.gapReported(through: position), state.acks.received((message, nil)), state.stores) }
        if case .halt(let alarm) = decision { throw LinkFailure("halted: \(alarm)") }
        if gap == FederationHeader.noGap {
            // Only the record last taken was pruned at the peer: nothing is missing, the stream goes on after it.
            return settle(ticket, session: session, signal: signal)
        }
        let now = broker.clock()
        state.withLock {
            $0.inFlight += 1
            $0.status.lastError = "gap: \(peer)'s records \(gap) were pruned before this link took them"
            $0.status.lastErrorAt = now
        }
        logger.error("federation gap: records were pruned at the peer before this link took them", metadata: ["peer": "\(peer)", "offsets": "\(gap)"])
        var headers: StompHeaders = [FederationHeader.gap: gap, FederationHeader.link: linkText, FederationHeader.via: peer]
        if settings.lane == .urgent { headers[FederationHeader.lane] = settings.lane.rawValue }
        let record = Publication(destination: FederationHeader.importGapDestination, headers: headers, body: [],
                                 sender: settings.brokerIdentity, sequence: stores)
        broker.publishAsBroker(record) { [self] result in
            switch result {
            case .success(let stored):
                taken(position, originTime: nil, outcome: .gap, localOffset: stored.offset, ticket: ticket, session: session, signal: signal)
            case .failure(let error):
                fail("cannot record the gap \(gap) from \(peer): \(error.message)", session: session)
            }
        }
    }

    private func settle(_ ticket: UInt64, session: Int, signal: AsyncStream<Void>.Continuation) {
        if state.withLock({ Self.settle(ticket, session: session, in: &$0) }) { signal.yield() }
    }

    /// The record of `ticket` is done with; whether an acknowledgement is due now.
    private static func settle(_ ticket: UInt64, session: Int, in state: inout State) -> Bool {
        guard state.session == session, let due = state.acks.done(ticket) else { return false }
        state.ackDue = due.message
        // Everything up to it is taken: a copy another route stored moves the position too
        // (in memory: the log still says the link's last stored record, so after a restart
        // the peer sends the copies again, and they are dropped again).
        if let position = due.position, state.link.position.map({ position.logID == $0.logID && position.offset > $0.offset }) ?? true {
            state.link.taken(position)
        }
        return true
    }
}
