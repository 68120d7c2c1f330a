public import MusterBroker
public import MusterProtocol

/// The federation rules of one broker: its peers, and the decisions taken when a record is
/// appended (never retroactively): which peers it is exported to, and under which local name
/// a peer's record is imported.
public struct FederationRules: Sendable, Equatable {
    public let peers: [FederationPeer]

    public init(peers: [FederationPeer] = []) {
        self.peers = peers
    }

    public func peer(_ jurisdiction: String) -> FederationPeer? {
        peers.first { $0.jurisdiction == jurisdiction }
    }

    /// A record as the export decision sees it: where and by whom it was published, and, for a
    /// record imported from a peer, the jurisdictions it crossed (its `via` path, origin first).
    public struct Record: Sendable {
        public let destination: Destination
        public let type: String?
        public let sender: RegisteredParty?
        public let via: [String]

        public init(destination: Destination, type: String?, sender: RegisteredParty?, via: [String] = []) {
            self.destination = destination
            self.type = type
            self.sender = sender
            self.via = via
        }
    }

    /// The peers `record` is exported to. A record that originated here goes to every peer with a
    /// matching export rule. An imported record goes only to peers with relay on, while it has
    /// crossed fewer links than their hop limit, and never back to a jurisdiction it crossed.
    public func exportTargets(of record: Record) -> [String] {
        peers.filter { peer in
            if !record.via.isEmpty {
                guard peer.relay.enabled, record.via.count < peer.relay.hopLimit, !record.via.contains(peer.jurisdiction) else { return false }
            }
            return peer.exports.contains { $0.exports(record.destination, type: record.type, sender: record.sender) }
        }.map(\.jurisdiction)
    }

    /// Whether `record`, exported to `peer`, goes in its urgent lane.
    public func isUrgent(_ record: Record, to peer: String) -> Bool {
        guard let type = record.type else { return false }
        return self.peer(peer)?.link.urgentTypes.contains(type) ?? false
    }

    /// The jurisdictions whose brokers follow cross-border cases with this one.
    public var workflowJurisdictions: Set<String> { Set(peers.filter(\.workflows).map(\.jurisdiction)) }

    /// Whether `peer`'s record is one of a case both brokers follow: of a workflow type, with a
    /// case id of the form `JURISDICTION.s-N`, from a peer this broker follows cases with.
    public func isCrossBorderWorkflowRecord(from peer: String, type: String?, caseID: String?) -> Bool {
        guard let type, WorkflowType(rawValue: type) != nil, let caseID, self.peer(peer)?.workflows == true,
              let dot = caseID.lastIndex(of: ".") else { return false }
        let number = caseID[caseID.index(after: dot)...]
        return ["s-", "h-", "op-"].contains { number.hasPrefix($0) && Int(number.dropFirst($0.count)).map { $0 > 0 } == true }
    }

    /// Where a workflow record of a cross-border case that `peer` sent is stored here: what the
    /// peer's broker owed one of this broker's parties (`recipient`) goes to that party's inbox,
    /// what it wrote for its own parties to the transit topic, the rest where it was. Nil when it
    /// is not such a record (the import rules decide); a failure when it cannot be one.
    public func workflowDestination(from peer: String, _ destination: Destination, type: String?, caseID: String?, recipient: String?,
                                    byBroker: Bool, here: String) -> Result<Destination, BrokerError>? {
        guard isCrossBorderWorkflowRecord(from: peer, type: type, caseID: caseID), let type else { return nil }
        let isInbox = destination.kind == .queue && destination.name.hasPrefix("inbox.")
        guard byBroker else {
            return isInbox || recipient != nil
                ? .failure(BrokerError(.notAuthorized, "a party's \(type) message of \(caseID ?? "") came from \(peer) addressed to an inbox; "
                                       + "only the case's owner writes into inboxes"))
                : .success(destination)
        }
        if let recipient {
            guard let party = PartyIdentity(uri: PartyIdentity.uriScheme + recipient), party.jurisdiction == here else {
                return .failure(BrokerError(.notAuthorized, "the broker of \(peer) wrote for \(recipient), who is not a party of \(here)"))
            }
            return .success(Destination(kind: .queue, name: "inbox.\(party.party)"))
        }
        // What it wrote for its own parties (a copy, a reminder) crosses for the record, not for delivery.
        if isInbox { return .success(WorkflowHeader.crossBorderTransit) }
        guard destination == WorkflowHeader.crossBorderTransit || destination == Destination(kind: .topic, name: "escalation") else {
            return .failure(BrokerError(.notAuthorized, "the broker of \(peer) wrote a \(type) record on \(destination); a broker writes cross-border "
                                        + "records on \(WorkflowHeader.crossBorderTransit), /topic/escalation and its own parties' inboxes only"))
        }
        return .success(destination)
    }

    /// Where a record `peer` exported from its `destination` is stored here; nil when no import
    /// rule of that peer accepts it (the first matching rule decides).
    public func importDestination(from peer: String, _ destination: Destination) -> Destination? {
        guard let rules = self.peer(peer)?.imports else { return nil }
        // A peer's signed checkpoints are stored whatever the import rules say (the link checks
        // each signature): they are how this log proves later what the peer's log held.
        if destination == CheckpointHeader.destination { return destination }
        for rule in rules { if let local = rule.localDestination(for: destination) { return local } }
        return nil
    }
}
