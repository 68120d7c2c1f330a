public import MusterBroker
import MusterStomp
public import MusterProtocol

/// What `muster serve` suggests a newcomer try first: a party of the parties file and a
/// declared destination that the policy in force lets it subscribe to. A destination the
/// party may also publish plain text to is preferred (an untyped one, like the shipped
/// `/topic/notices`), so that the suggested `muster sub` and `muster pub` work together.
public struct ConnectionExample: Sendable, Equatable {
    public let jurisdiction: String
    public let party: String
    public let destination: String
    /// Whether the party may also publish `text` there.
    public let mayPublishText: Bool

    /// The body of the suggested `muster pub` (one word: nothing to quote in a shell).
    public static let text = "hello"

    /// The first party (in the parties file's order) and the first exact destination (in the
    /// topics file's order) it may subscribe to and publish text to; else the first it may
    /// subscribe to; nil when the policy lets no party subscribe to any declared destination.
    public static func choose(policy: Policy, parties: PartyDirectory) -> ConnectionExample? {
        var subscribeOnly: ConnectionExample?
        // A monitor may not connect over STOMP: it is never the example.
        for party in parties.parties where party.kind != .monitor {
            for rule in policy.topics where rule.pattern.isExact {
                guard let destination = try? Destination(parsing: rule.pattern.text),
                      policy.decideSubscribe(destination, by: party.identity).refusal == nil else { continue }
                let publication = Publication(destination: destination, headers: StompHeaders(), body: Array(text.utf8),
                                              sender: party.identity)
                let publishes = policy.decidePublish(publication).refusal == nil
                let example = ConnectionExample(jurisdiction: party.jurisdiction, party: party.id,
                                                destination: destination.description, mayPublishText: publishes)
                if publishes { return example }
                if subscribeOnly == nil { subscribeOnly = example }
            }
        }
        return subscribeOnly
    }
}

extension BrokerServer {
    /// The connection example for the policy in force.
    public var connectionExample: ConnectionExample? {
        ConnectionExample.choose(policy: policy.policy, parties: configuration.parties)
    }
}
