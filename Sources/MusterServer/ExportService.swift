import MusterBroker
import MusterFederation
import MusterLog
import MusterProtocol
import MusterStomp

/// What a peer broker reads here: its export destination (`/queue/muster.export.PEER`), a stream
/// of the records this broker stamped for that peer when it stored them, read from the log from
/// the peer's `x-stream-offset`. The peer's log is its cursor, so nothing is remembered here.
struct ExportService: Sendable {
    let federation: FederationState
    /// This broker's log id: with an offset, the origin key of each record it exports.
    let logID: String
    /// The sender of the records this broker writes itself (gap records).
    let brokerIdentity: PartyIdentity
    /// Where the records stamped for each peer and lane are (streams jump to them).
    let index: SharedExportIndex

    static func isExportDestination(_ destination: Destination) -> Bool {
        destination.kind == .queue && destination.name.hasPrefix(FederationHeader.exportDestinationPrefix)
    }

    /// The peer that `party` reads `destination` as, and the lane; refuses anyone but that peer's broker.
    func peer(reading destination: Destination, as party: PartyIdentity) throws(BrokerError) -> (peer: FederationPeer, lane: LinkLane) {
        guard let (peer, lane) = federation.exportPeer(of: destination) else {
            throw BrokerError(.notAuthorized, "\(destination) is the export destination of no federation peer of this broker (federation.peers in muster.yaml)")
        }
        guard party == peer.brokerIdentity else {
            throw BrokerError(.notAuthorized, "\(destination) is read only by the broker of \(peer.jurisdiction) (\(peer.brokerIdentity.uri)), not by \(party.uri)")
        }
        return (peer, lane)
    }

    /// The evidence of a peer's link coming up or going down here.
    func linkRecord(_ event: String, peer: String, lane: LinkLane, certificate: ConnectionCredentials?, offset: UInt64?) -> Publication {
        let certificate = certificate.map { "\($0.issuerFingerprint)/\($0.serialNumber)" }
        return Publication(destination: FederationHeader.linkEventsDestination,
                           headers: StompHeaders(FederationHeader.linkEvent(event, peer: peer, lane: lane, certificate: certificate, offset: offset, side: "export")),
                           body: [], sender: brokerIdentity)
    }

    /// The exporter's record of a gap in the link to `peer`.
    func gapRecord(_ gap: ClosedRange<UInt64>, peer: String, lane: LinkLane) -> Publication {
        var headers: StompHeaders = [FederationHeader.gap: "\(gap.lowerBound)-\(gap.upperBound)", FederationHeader.gapPeer: peer]
        if lane == .urgent { headers[FederationHeader.lane] = lane.rawValue }
        return Publication(destination: FederationHeader.exportGapDestination, headers: headers, body: [], sender: brokerIdentity)
    }

    /// What tells the peer, before the stream, that the last record it took was pruned here and
    /// where the stream goes on: a MESSAGE without an ack id, whose `muster-link` is the last
    /// offset before the stream, and whose `muster-gap` is the range pruned before the peer took
    /// it (`none` when only the record it took went).
    func resumeFrame(after taken: UInt64, gap: ClosedRange<UInt64>?, subscriptionID: String, destination: Destination) -> StompFrame {
        let end = gap?.upperBound ?? taken
        return StompFrame(.message, headers: [
            "subscription": subscriptionID, "message-id": "resume-\(end)", "destination": destination.description,
            FederationHeader.gap: gap.map { "\($0.lowerBound)-\($0.upperBound)" } ?? FederationHeader.noGap,
            FederationHeader.link: FederationHeader.originKey(logID: logID, offset: end),
        ])
    }

    /// A peer's notice that it refused to import one of this broker's records (a SEND of its
    /// broker on its export destination): recorded here as a refusal of the original sender's
    /// message, in the audit destination, where the sender's refusals are read.
    func noteImportRefusal(_ notice: Publication, policy: PolicyGate) throws(BrokerError) {
        let (peer, _) = try peer(reading: notice.destination, as: notice.sender)
        guard let origin = notice.headers[FederationHeader.origin], let reason = notice.headers[FederationHeader.refusal],
              let senderURI = notice.headers[FederationHeader.refusedSender], let sender = PartyIdentity(uri: senderURI) else {
            throw BrokerError(.missingHeader, "an import refusal notice needs \(FederationHeader.origin), \(FederationHeader.refusal) and \(FederationHeader.refusedSender)")
        }
        guard FederationHeader.parseOrigin(origin)?.logID == logID else {
            throw BrokerError(.invalidHeader, "\(FederationHeader.origin) '\(origin)' names no record of this broker's log (\(logID))")
        }
        let code = notice.headers[ReservedHeader.errorCode].flatMap(ErrorCode.init(rawValue:)) ?? .notAuthorized
        let destination = notice.headers[FederationHeader.refusedDestination].flatMap { try? Destination(parsing: $0) }
        let error = BrokerError(code, "the broker of \(peer.jurisdiction) refused to import \(origin): \(reason)")
        policy.record(PolicyRefusal(error, rule: "federation: import at \(peer.jurisdiction)", party: sender, destination: destination,
                                    type: notice.headers[ReservedHeader.type]))
    }

    /// Whether the record goes to `peer` in `lane`: a message stamped for it when it was stored
    /// (and stamped urgent for it, for the urgent lane; not so, for the bulk lane).
    static func selects(_ record: LogRecord, for peer: String, in lane: LinkLane) -> Bool {
        guard record.kind == .message, FederationHeader.list(record.header(FederationHeader.export), names: peer) else { return false }
        return FederationHeader.list(record.header(FederationHeader.exportUrgent), names: peer) == (lane == .urgent)
    }

    /// The MESSAGE a peer receives: the record as any subscriber sees it (its own destination,
    /// sender and time stamps, `x-stream-offset`), plus where it sits here (`muster-link`), how
    /// long the log is (`muster-link-head`) and
    /// its origin key and hash — its own for a record first published here, the origin's for one
    /// this broker relays.
    /// `head` is this log's next offset now: how far behind the peer reads (`muster-link-head`).
    func frame(_ record: LogRecord, subscriptionID: String, ackID: String?, head: UInt64) -> StompFrame? {
        guard let message = StoredMessage(record: record) else { return nil }
        var frame = Delivery.messageFrame(message, subscriptionID: subscriptionID, ackID: ackID, deliveryCount: 1)
        let here = FederationHeader.originKey(logID: logID, offset: record.offset)
        frame.headers[FederationHeader.export] = nil
        frame.headers[FederationHeader.exportUrgent] = nil
        frame.headers[FederationHeader.link] = here
        frame.headers[FederationHeader.linkHead] = String(head)
        if frame.headers[FederationHeader.origin] == nil {
            frame.headers[FederationHeader.origin] = here
            frame.headers[FederationHeader.originHash] = record.chain.hex
        }
        return frame
    }
}
