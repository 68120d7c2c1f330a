/// One declared destination (or pattern) of the topic configuration: the message types it
/// carries, who may publish and who may subscribe, and its admission list if it has one.
public struct TopicRule: Sendable {
    public let pattern: DestinationPattern
    /// The message types (schema names) it carries; empty: untyped, any body.
    public let types: [String]
    public let publishers: [PartySelector]
    public let subscribers: [PartySelector]
    public let admission: AdmissionList?
    /// Where the rule was declared, for refusals and explanations: `topics.yaml topics[3]`.
    public let origin: String

    public init(pattern: DestinationPattern, types: [String], publishers: [PartySelector], subscribers: [PartySelector],
                admission: AdmissionList? = nil, origin: String) {
        self.pattern = pattern
        self.types = types
        self.publishers = publishers
        self.subscribers = subscribers
        self.admission = admission
        self.origin = origin
    }

    /// `topics.yaml topics[3] (/topic/summons.*)`
    public var name: String { "\(origin) (\(pattern))" }

    func publisher(_ party: RegisteredParty, boundParty: String?) -> PartySelector? {
        publishers.first { $0.matches(party, boundParty: boundParty) }
    }

    func subscriber(_ party: RegisteredParty, boundParty: String?) -> PartySelector? {
        subscribers.first { $0.matches(party, boundParty: boundParty) }
    }
}
