public import MusterBroker
public import MusterProtocol
public import MusterStomp

/// A record a peer broker sent over a link (an export MESSAGE), and the rule for what this
/// broker makes of it: the publication to store, as the origin sender's own SEND, or why not.
public struct InboundRecord: Sendable {
    /// Where it sits in the peer's log (the link's position).
    public let link: ImportLink.Position
    /// Its origin key (`LOG-ID/OFFSET`) and hash: the peer's own for a record first published
    /// there, the first broker's for a relayed one.
    public let origin: String
    public let originKey: OriginKeys.Key
    public let originHash: String?
    public let destination: Destination
    public let sender: PartyIdentity
    /// The jurisdictions it crossed before this link, origin first.
    public let via: [String]
    public let headers: StompHeaders
    public let body: [UInt8]

    /// Reads an export MESSAGE; throws when it is not one (the link halts: the peer is not a
    /// Muster broker speaking this protocol).
    public init(headers: StompHeaders, body: [UInt8]) throws(BrokerError) {
        func required(_ name: String) throws(BrokerError) -> String {
            guard let value = headers[name], !value.isEmpty else {
                throw BrokerError(.missingHeader, "the peer sent a MESSAGE without \(name): it is not a federation export")
            }
            return value
        }
        let linkText = try required(FederationHeader.link)
        let originText = try required(FederationHeader.origin)
        guard let link = FederationHeader.parseOrigin(linkText), let originKey = FederationHeader.parseOrigin(originText) else {
            throw BrokerError(.invalidHeader, "the peer sent \(FederationHeader.link) '\(linkText)' / \(FederationHeader.origin) '\(originText)'; each must be LOG-ID/OFFSET")
        }
        let hash = headers[FederationHeader.originHash]
        self.link = ImportLink.Position(logID: link.logID, offset: link.offset, hash: linkText == originText ? hash : nil)
        self.origin = originText
        self.originKey = OriginKeys.Key(logID: originKey.logID, offset: originKey.offset)
        self.originHash = hash
        self.destination = try Destination(parsing: try required("destination"))
        self.sender = PartyIdentity(jurisdiction: try required(ReservedHeader.senderJurisdiction), party: try required(ReservedHeader.sender))
        self.via = FederationHeader.jurisdictions(headers[FederationHeader.via])
        self.headers = headers
        self.body = body
    }

    /// The publication to store here, or why this broker refuses it: the peer may vouch only
    /// for senders of its own jurisdiction (or, relaying, of the origin's), and an import rule
    /// of the peer must accept the destination. The policy then decides as for the sender's SEND.
    /// `here` is this broker's jurisdiction; `lane` the link's lane that brought it.
    public func plan(from peer: String, here: String, rules: FederationRules, lane: LinkLane = .bulk) -> Result<Publication, BrokerError> {
        // A relayed record is taken only from a peer this broker relays with: otherwise a peer
        // could name any origin (muster-via) and vouch for that origin's senders.
        if let origin = via.first, rules.peer(peer)?.relay.enabled != true {
            return .failure(BrokerError(.notAuthorized, "the broker of \(peer) relayed a record from \(origin); relayed records are taken from "
                                        + "\(peer) only with relay enabled for it (federation.peers[\(peer)].relay in muster.yaml)"))
        }
        let vouching = via.first ?? peer
        guard sender.jurisdiction == vouching else {
            return .failure(BrokerError(.notAuthorized, "the broker of \(peer) sent a record from \(sender.uri), but a broker vouches only for "
                                        + "its own jurisdiction's parties (\(vouching))"))
        }
        guard !via.contains(here), !via.contains(peer) else {
            return .failure(BrokerError(.notAuthorized, "the record from \(peer) already crossed \(via.joined(separator: ", ")): a loop"))
        }
        guard let local = rules.importDestination(from: peer, destination) else {
            return .failure(BrokerError(.notAuthorized, "no import rule for \(peer) accepts \(destination) (federation.peers[\(peer)].import in muster.yaml)"))
        }
        var stored = StompHeaders()
        for (name, value) in headers where !Delivery.brokerOwned.contains(name) && !FederationHeader.all.contains(name) && name != "content-length" {
            stored.append(name, value)
        }
        stored[FederationHeader.origin] = origin
        if let originHash { stored[FederationHeader.originHash] = originHash }
        stored[FederationHeader.link] = FederationHeader.originKey(logID: link.logID, offset: link.offset)
        stored[FederationHeader.originTime] = headers[FederationHeader.originTime] ?? headers[ReservedHeader.timestamp]
        stored[FederationHeader.via] = (via + [peer]).joined(separator: ",")
        if lane == .urgent { stored[FederationHeader.lane] = lane.rawValue }
        return .success(Publication(destination: local, headers: stored, body: body, sender: sender))
    }

    /// The SEND that tells the peer's broker (on `exportDestination`, the link's own) that this
    /// broker refused the record, and why.
    public func refusalNotice(_ reason: BrokerError, to exportDestination: Destination) -> StompFrame {
        var headers: StompHeaders = [
            "destination": exportDestination.description,
            FederationHeader.origin: origin,
            FederationHeader.refusal: reason.message,
            ReservedHeader.errorCode: reason.code.rawValue,
            FederationHeader.refusedSender: sender.uri,
            FederationHeader.refusedDestination: destination.description,
        ]
        if let type = self.headers[ReservedHeader.type] { headers[ReservedHeader.type] = type }
        return StompFrame(.send, headers: headers)
    }

    /// The record of a refusal: the origin key and link position (so the link moves past it),
    /// the route, the original destination and sender, the reason, and the body as evidence.
    public func refusalRecord(from peer: String, reason: BrokerError, broker: PartyIdentity, lane: LinkLane = .bulk,
                              ofRoute: Bool = false) -> Publication {
        var headers: StompHeaders = [
            FederationHeader.origin: origin,
            FederationHeader.originHash: originHash ?? "",
            FederationHeader.link: FederationHeader.originKey(logID: link.logID, offset: link.offset),
            FederationHeader.via: (via + [peer]).joined(separator: ","),
            FederationHeader.refusal: reason.message,
            ReservedHeader.errorCode: reason.code.rawValue,
            FederationHeader.refusedDestination: destination.description,
            FederationHeader.refusedSender: sender.uri,
        ]
        if lane == .urgent { headers[FederationHeader.lane] = lane.rawValue }
        if ofRoute { headers[FederationHeader.refusalScope] = "route" }
        return Publication(destination: FederationHeader.refusalDestination, headers: headers, body: body, sender: broker)
    }
}
