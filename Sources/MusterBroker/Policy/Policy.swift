public import MusterProtocol
public import MusterSchema
/// The policy in force: the parties, the declared topics with their types and rules, the
/// message schemas and the certificate authorities. Pure: every decision is a function of
/// the policy and its input, and names the rule that made it. Anything undeclared is refused.
public struct Policy: Sendable {
    public let parties: [PartyIdentity: RegisteredParty]
    /// In declaration order; the first rule whose pattern matches a destination governs it.
    public let topics: [TopicRule]
    public let schemas: [String: JSONSchema]
    public let trust: CertificateTrust

    public init(parties: [RegisteredParty], topics: [TopicRule], schemas: [String: JSONSchema], trust: CertificateTrust) {
        self.parties = Dictionary(parties.map { ($0.identity, $0) }, uniquingKeysWith: { first, _ in first })
        self.topics = topics
        self.schemas = schemas
        self.trust = trust
    }

    static let defaultDenyRule = "default deny (the destination is not declared in the topics file)"
    static let auditorRule = "role auditor (auditors read every destination and publish to none)"
    static let replyRule = "built-in rule: every connection may subscribe to \(AckQuery.replyPrefix)NAME for query answers"

    /// The rule governing `destination` and the party its `{party}` placeholder names.
    public func topic(for destination: Destination) -> (rule: TopicRule, boundParty: String?)? {
        for rule in topics {
            let match = rule.pattern.match(destination)
            if match.matched { return (rule, match.party) }
        }
        return nil
    }

    // MARK: Connections

    /// Admits a verified certificate: its jurisdiction's own CA must have issued it, the
    /// party must be configured, and the certificate must not be revoked.
    public func admitConnection(_ credentials: ConnectionCredentials) -> Result<RegisteredParty, PolicyRefusal> {
        let identity = credentials.identity
        func refuse(_ message: String, rule: String) -> Result<RegisteredParty, PolicyRefusal> {
            .failure(PolicyRefusal(BrokerError(.identityRefused, message), rule: rule, party: identity))
        }
        guard let authorities = trust.authorities[identity.jurisdiction] else {
            return refuse("the certificate names jurisdiction '\(identity.jurisdiction)', which the parties file does not list", rule: "parties file: jurisdictions")
        }
        guard authorities.contains(credentials.anchorFingerprint) || authorities.contains(credentials.issuerFingerprint) else {
            return refuse("the certificate claims \(identity.uri) but was not issued by \(identity.jurisdiction)'s certificate authority; a CA vouches only for its own jurisdiction's parties", rule: "parties file: jurisdiction \(identity.jurisdiction) ca")
        }
        guard let party = parties[identity] else {
            return refuse("\(identity) is not a party in the parties file", rule: "parties file: parties")
        }
        if trust.revokedSerials[credentials.issuerFingerprint]?.contains(credentials.serialNumber) == true {
            return refuse("the certificate of \(identity) (serial \(credentials.serialNumber)) is revoked by \(identity.jurisdiction)'s certificate revocation list", rule: "parties file: jurisdiction \(identity.jurisdiction) crl")
        }
        return .success(party)
    }

    // MARK: Subscriptions

    /// Whether `identity` may subscribe to (or replay, or inspect the acknowledgements of) `destination`.
    public func decideSubscribe(_ destination: Destination, by identity: PartyIdentity) -> Result<PolicyGrant, PolicyRefusal> {
        guard let party = parties[identity] else {
            return .failure(PolicyRefusal(BrokerError(.identityRefused, "\(identity) is not a party in the parties file"),
                                          rule: "parties file: parties", party: identity, destination: destination))
        }
        if destination.kind == .topic, destination.description.hasPrefix(AckQuery.replyPrefix) { return .success(PolicyGrant(rule: Self.replyRule)) }
        if party.isAuditor { return .success(PolicyGrant(rule: Self.auditorRule)) }
        guard let (rule, bound) = topic(for: destination) else {
            return .failure(PolicyRefusal(BrokerError(.notAuthorized, "no topic declares \(destination); every destination must be declared in the topics file before anyone may use it"),
                                          rule: Self.defaultDenyRule, party: identity, destination: destination))
        }
        guard let selector = rule.subscriber(party, boundParty: bound) else {
            let allowed = rule.subscribers.isEmpty ? "nobody" : rule.subscribers.map(\.description).joined(separator: "; ")
            return .failure(PolicyRefusal(BrokerError(.notAuthorized, "\(identity) (\(party.kind.rawValue)) may not subscribe to \(destination): \(rule.name) lets subscribe only \(allowed)"),
                                          rule: rule.name, party: identity, destination: destination))
        }
        return .success(PolicyGrant(rule: "\(rule.name), subscribe: \(selector)"))
    }
}
