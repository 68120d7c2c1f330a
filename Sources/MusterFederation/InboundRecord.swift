public import MusterBroker
public import MusterProtocol
public import MusterStomp

/// A record a peer broker sent over a link (an export MESSAGE), and the rule for what this
/// broker makes of it: the publication to store, as the origin sender's own SEND, or why not.
public struct InboundRecord: Sendable {
    /// Where it sits in the peer's log (the link's position).
    public let link: ImportLink.Position
    /// `link` as the peer wrote it.
    let linkText: String
    /// When its sender published it at the origin (`muster-origin-time`, else the peer's own
    /// `muster-timestamp`), as the peer wrote it.
    public let originTime: String?
    /// `originTime` as milliseconds (the peer's own timestamp when the origin's does not read as a number).
    public let originMilliseconds: Int64?
    /// The peer's log head when it sent this (`muster-link-head`).
    public let peerLogHead: UInt64?
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
    /// Muster broker speaking this protocol). `previous`, from the record read before it on the link:
    /// its destination is reused when this one names the same (a backlog is mostly one).
    public init(headers: StompHeaders, body: [UInt8], previous: Previous? = nil) throws(BrokerError) {
        // One pass over the headers for those this needs (the first of each name counts).
        var found = InlineArray<10, String?>(repeating: nil)
        assert(Self.read.names.count == found.count, "a slot for each header read")
        for index in headers.entries.indices {
            if let slot = Self.read.index(of: headers.entries[index].name), found[slot] == nil { found[slot] = headers.entries[index].value }
        }
        let (linkText, originText, hash, destinationText, jurisdiction, party, viaText, originTime, timestamp, head) =
            (found[0], found[1], found[2], found[3], found[4], found[5], found[6], found[7], found[8], found[9])
        func required(_ value: String?, _ name: String) throws(BrokerError) -> String {
            guard let value, !value.isEmpty else {
                throw BrokerError(.missingHeader, "the peer sent a MESSAGE without \(name): it is not a federation export")
            }
            return value
        }
        let link = try required(linkText, FederationHeader.link)
        let origin = try required(originText, FederationHeader.origin)
        // Equal unless relayed: read once.
        guard let position = Self.parsePosition(link, previousLogID: previous?.logID),
              let originKey = link == origin ? position : FederationHeader.parseOrigin(origin) else {
            throw BrokerError(.invalidHeader, "the peer sent \(FederationHeader.link) '\(link)' / \(FederationHeader.origin) '\(origin)'; each must be LOG-ID/OFFSET")
        }
        self.link = ImportLink.Position(logID: position.logID, offset: position.offset, hash: link == origin ? hash : nil)
        self.origin = origin
        self.linkText = link
        self.originKey = OriginKeys.Key(logID: originKey.logID, offset: originKey.offset)
        self.originHash = hash
        let destination = try required(destinationText, "destination")
        if let previous, previous.destination.description.utf8.elementsEqual(destination.utf8) {
            self.destination = previous.destination
        } else {
            self.destination = try Destination(parsing: destination)
        }
        self.sender = PartyIdentity(jurisdiction: try required(jurisdiction, ReservedHeader.senderJurisdiction), party: try required(party, ReservedHeader.sender))
        self.via = FederationHeader.jurisdictions(viaText)
        self.originTime = originTime ?? timestamp
        self.originMilliseconds = originTime.flatMap { Int64($0) } ?? timestamp.flatMap { Int64($0) }
        self.peerLogHead = head.flatMap { UInt64($0) }
        self.headers = headers
        self.body = body
    }

    /// `FederationHeader.parseOrigin`, with the previous record's log id when it is the same
    /// (so that each record does not allocate its own copy of it).
    static func parsePosition(_ text: String, previousLogID: String?) -> (logID: String, offset: UInt64)? {
        let bytes = text.utf8
        guard let previousLogID, !previousLogID.isEmpty, bytes.count > previousLogID.utf8.count + 1,
              bytes.starts(with: previousLogID.utf8), bytes[bytes.index(bytes.startIndex, offsetBy: previousLogID.utf8.count)] == UInt8(ascii: "/") else {
            return FederationHeader.parseOrigin(text)
        }
        // The offset: decimal digits only, as `UInt64(_:)` reads them in `parseOrigin`.
        var offset: UInt64 = 0
        for byte in bytes.dropFirst(previousLogID.utf8.count + 1) {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return FederationHeader.parseOrigin(text) }
            let (shifted, overflow) = offset.multipliedReportingOverflow(by: 10)
            let (sum, carry) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            offset = sum
        }
        return (previousLogID, offset)
    }

    /// What the next record on the link may reuse of this one (not the record: it may hold a large body).
    public struct Previous: Sendable {
        let destination: Destination
        let logID: String
    }

    public var asPrevious: Previous { Previous(destination: destination, logID: link.logID) }

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
        let local: Destination
        switch rules.workflowDestination(from: peer, destination, type: headers[ReservedHeader.type], caseID: headers[WorkflowHeader.id],
                                         recipient: headers[WorkflowHeader.recipient],
                                         byBroker: headers[WorkflowHeader.event] != nil, here: here) {
        case .success(let destination)?:
            local = destination
        case .failure(let refusal)?:
            return .failure(refusal)
        case nil:
            guard let imported = rules.importDestination(from: peer, destination) else {
                return .failure(BrokerError(.notAuthorized, "no import rule for \(peer) accepts \(destination) (federation.peers[\(peer)].import in muster.yaml)"))
            }
            local = imported
        }
        var stored = StompHeaders()
        stored.entries.reserveCapacity(headers.count)  // grown once, not at 1, 2, 4, 8 and 16
        for index in headers.entries.indices where !Self.notCarried.contains(headers.entries[index].name) {
            stored.entries.append(headers.entries[index])
        }
        // The link's own headers were left out above: appended, not looked for.
        stored.append(FederationHeader.origin, origin)
        if let originHash { stored.append(FederationHeader.originHash, originHash) }
        stored.append(FederationHeader.link, linkText)
        if let originTime { stored.append(FederationHeader.originTime, originTime) }
        stored.append(FederationHeader.via, via.isEmpty ? peer : (via + [peer]).joined(separator: ","))
        if lane == .urgent { stored.append(FederationHeader.lane, lane.rawValue) }
        return .success(Publication(destination: local, headers: stored, body: body, sender: sender))
    }

    /// The headers `init` reads, in the order it takes them.
    static let read = HeaderNameSet([FederationHeader.link, FederationHeader.origin, FederationHeader.originHash, "destination",
                                     ReservedHeader.senderJurisdiction, ReservedHeader.sender, FederationHeader.via,
                                     FederationHeader.originTime, ReservedHeader.timestamp, FederationHeader.linkHead])

    /// The exporter's headers that the stored copy does not keep as they are: each delivery's
    /// own, and the link's (replaced by this broker's).
    /// (`muster-workflow-received` is this broker's own, written when its workflows take the record.)
    static let notCarried = HeaderNameSet(Delivery.brokerOwned.union(FederationHeader.all).union(["content-length", WorkflowHeader.receivedAt]))

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
