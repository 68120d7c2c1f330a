public import MusterProtocol
/// The policy check every SEND and SUBSCRIBE passes before it touches the store: who may
/// publish what where, and who may read it.
public protocol PublishGate: Sendable {
    /// The publication as it may be stored (the gate may stamp headers), or the refusal.
    func admit(_ publication: Publication) -> Result<Publication, PolicyRefusal>
    /// Refuses (and records the refusal) if `party` may not subscribe to `destination`.
    func checkSubscribe(_ destination: Destination, by party: PartyIdentity) -> PolicyRefusal?
    /// The same question, without recording anything: for filtering what a party may see.
    func permitsSubscribe(_ destination: Destination, by party: PartyIdentity) -> Bool
}

/// Lets everything through: a broker without policy (unit tests of the core).
public struct OpenGate: PublishGate {
    public init() {}
    public func admit(_ publication: Publication) -> Result<Publication, PolicyRefusal> { .success(publication) }
    public func checkSubscribe(_ destination: Destination, by party: PartyIdentity) -> PolicyRefusal? { nil }
    public func permitsSubscribe(_ destination: Destination, by party: PartyIdentity) -> Bool { true }
}
