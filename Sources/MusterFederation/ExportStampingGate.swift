public import MusterBroker
public import MusterProtocol

/// The broker's publish gate when it has peers: the policy decides, then a record the policy
/// admitted is stamped with the peers it is exported to (`muster-export`), and those for which it
/// is urgent (`muster-export-urgent`), as the rules in force say at that moment. The stamp is stored with the record, so a reload never changes what an
/// earlier record goes to, and an export stream selects by the stamp alone.
public final class ExportStampingGate: PublishGate {
    public let policy: PolicyGate
    private let federation: FederationState

    public init(policy: PolicyGate, federation: FederationState) {
        self.policy = policy
        self.federation = federation
    }

    public func admit(_ publication: Publication) -> Result<Publication, PolicyRefusal> {
        policy.admit(publication).map(stamp)
    }

    public func checkSubscribe(_ destination: Destination, by party: PartyIdentity) -> PolicyRefusal? {
        policy.checkSubscribe(destination, by: party)
    }

    public func permitsSubscribe(_ destination: Destination, by party: PartyIdentity) -> Bool {
        policy.permitsSubscribe(destination, by: party)
    }

    private func stamp(_ publication: Publication) -> Publication {
        let rules = federation.rules
        guard !rules.peers.isEmpty else { return publication }
        let via = publication.headers[FederationHeader.via]
        // An import goes on only to peers this broker relays to (`exportTargets`): none, mostly.
        if let via, !via.isEmpty, !rules.peers.contains(where: \.relay.enabled) { return publication }
        let record = FederationRules.Record(destination: publication.destination, type: publication.headers[ReservedHeader.type],
                                            sender: policy.policy.parties[publication.sender],
                                            via: FederationHeader.jurisdictions(via))
        return rules.stamp(publication, exportedTo: rules.exportTargets(of: record))
    }
}

extension FederationRules {
    /// `publication` with `targets` added to the peers it is exported to (`muster-export`), and
    /// to those for which its type (or `laneType`) is urgent (`muster-export-urgent`).
    public func stamp(_ publication: Publication, exportedTo targets: [String], laneOf laneType: String? = nil) -> Publication {
        guard !targets.isEmpty else { return publication }
        let type = laneType ?? publication.headers[ReservedHeader.type]
        var stamped = publication
        func merge(_ name: String, _ added: [String]) {
            let before = FederationHeader.jurisdictions(stamped.headers[name])
            let all = before + added.filter { !before.contains($0) }
            if !all.isEmpty { stamped.headers[name] = all.joined(separator: ",") }
        }
        merge(FederationHeader.export, targets)
        merge(FederationHeader.exportUrgent, targets.filter { peer in type.map { self.peer(peer)?.link.urgentTypes.contains($0) ?? false } ?? false })
        return stamped
    }
}
