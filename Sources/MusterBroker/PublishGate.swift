/// The policy check every SEND passes before it touches the store: who may publish what
/// where. The policy issue's topic rules, schemas and admission lists plug in here.
public protocol PublishGate: Sendable {
    func check(_ publication: Publication) -> BrokerError?
    func checkSubscribe(_ destination: Destination, by party: PartyIdentity) -> BrokerError?
}

/// Lets everything through: the broker before policy is configured.
public struct OpenGate: PublishGate {
    public init() {}
    public func check(_ publication: Publication) -> BrokerError? { nil }
    public func checkSubscribe(_ destination: Destination, by party: PartyIdentity) -> BrokerError? { nil }
}
