import MusterBroker
import MusterFederation
import MusterProtocol

/// A peer broker's link: it subscribes to its export destination, and reads from the log the
/// records stamped for it, from its `x-stream-offset` (where its own log says it stopped).
extension ServerSession {
    func startExport(_ id: String, of destination: Destination, mode: AckMode, prefetch: Int?, start: ReplayStart?, receipt: String?) {
        do throws(BrokerError) {
            guard let exports, let history else {
                throw BrokerError(.notAuthorized, "\(destination) is a federation export destination, and this broker has no federation peers")
            }
            let (peer, lane) = try exports.peer(reading: destination, as: machine!.party)
            try subscriptions.withLock { subscriptions throws(BrokerError) in try subscriptions.checkFree(id) }
            let from = try history.startOffset(of: start ?? .first, destination: destination)
            // Resuming after a record retention has since pruned: the peer cannot get it again to
            // check, so it is told where the stream starts instead, and of the gap if more went.
            var resumedAfterPruned: UInt64?
            if case .offset(let taken) = start, taken < from { resumedAfterPruned = taken }
            let serial = try subscriptions.withLock { subscriptions throws(BrokerError) in try subscriptions.addReplay(id) }
            let state = ReplayState(subscriptionID: id, destination: destination, mode: mode, prefetch: prefetch, end: nil, serial: serial)
            let stream = ReplayStream(state: state, history: history, startOffset: from, channel: channel, version: version, logger: logger,
                                      export: (exports, peer.jurisdiction, lane))
            stream.acknowledgementEvidence = AcknowledgementEvidence(interval: .milliseconds(peer.link.acknowledgementEvidenceInterval), linkUp: .now)
            streams[id] = stream
            if let receipt { send(.receipt(receipt)) }
            if let taken = resumedAfterPruned {
                let gap = taken + 1 < from ? (taken + 1)...(from - 1) : nil
                if let gap {
                    logger.error("export gap: records were pruned before the peer took them",
                                 metadata: ["peer": "\(peer.jurisdiction)", "lane": "\(lane.rawValue)", "offsets": "\(gap)"])
                    broker.publishAsBroker(exports.gapRecord(gap, peer: peer.jurisdiction, lane: lane))
                }
                send(exports.resumeFrame(after: taken, gap: gap, subscriptionID: id, destination: destination))
            }
            broker.publishAsBroker(exports.linkRecord("up", peer: peer.jurisdiction, lane: lane, certificate: credentials, offset: from))
            logger.notice("export link up", metadata: [
                "peer": "\(peer.jurisdiction)", "lane": "\(lane.rawValue)", "from": "\(from)", "certificate-issuer": "\(credentials?.issuerFingerprint ?? "")",
            ])
            stream.start()
        } catch {
            machine?.subscriptionRefused()
            if let policy, let party = machine?.party {
                policy.record(PolicyRefusal(error, rule: "federation: export destination", party: party, destination: destination))
            }
            refuse(error, receipt: receipt)
        }
    }

    /// The evidence, while a peer's link is up, of how far it acknowledged (on the loop's ticks).
    func recordExportAcknowledgements(now: ContinuousClock.Instant) {
        guard let exports else { return }
        for stream in streams.values {
            guard let (peer, lane) = stream.exportPeer,
                  let through = stream.acknowledgementEvidence?.due(acknowledgedThrough: stream.state.acknowledgedThrough, now: now) else { continue }
            broker.publishAsBroker(exports.linkRecord("acknowledged", peer: peer, lane: lane, certificate: credentials, offset: through))
        }
    }

    /// The evidence of a peer's link going down: how far it acknowledged.
    func recordExportLinksDown() {
        guard let exports else { return }
        for stream in streams.values {
            guard let (peer, lane) = stream.exportPeer else { continue }
            broker.publishAsBroker(exports.linkRecord("down", peer: peer, lane: lane, certificate: credentials, offset: stream.state.acknowledgedThrough))
            logger.notice("export link down", metadata: ["peer": "\(peer)", "lane": "\(lane.rawValue)", "acknowledged-through": "\(stream.state.acknowledgedThrough.map { "\($0)" } ?? "-")"])
        }
    }
}
