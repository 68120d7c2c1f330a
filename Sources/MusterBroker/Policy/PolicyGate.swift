import Synchronization
public import MusterProtocol

/// The broker's gate: the policy in force, replaced as a whole on reload (the next frame
/// sees the new one), and a record of every refusal it makes.
public final class PolicyGate: PublishGate {
    public typealias RefusalHandler = @Sendable (PolicyRefusal, _ body: [UInt8]?) -> Void

    private struct State {
        var policy: Policy
        var onRefusal: RefusalHandler?
        var counts: [PartyIdentity: [ErrorCode: Int]] = [:]
        /// Keyed by the rule's name, which names a line of the configuration: as many as it has.
        var ruleCounts: [RuleAndCode: Int] = [:]
    }

    /// A rule (`topics.yaml topics[3]`, `TLS handshake`) and the error code it refused with.
    public struct RuleAndCode: Hashable, Sendable {
        public let rule: String
        public let code: ErrorCode
    }

    private let state: Mutex<State>

    public init(_ policy: Policy) {
        state = Mutex(State(policy: policy))
    }

    public var policy: Policy { state.withLock { $0.policy } }

    public func replace(_ policy: Policy) {
        state.withLock { $0.policy = policy }
    }

    /// Called for every refusal (after it is counted), with the refused body if there was one.
    public func onRefusal(_ handler: @escaping RefusalHandler) {
        state.withLock { $0.onRefusal = handler }
    }

    /// Counts and reports a refusal, including those decided outside the gate (a spoofed
    /// sender header, a refused certificate).
    public func record(_ refusal: PolicyRefusal, body: [UInt8]? = nil) {
        let handler = state.withLock { state -> RefusalHandler? in
            if let party = refusal.party { state.counts[party, default: [:]][refusal.code, default: 0] += 1 }
            state.ruleCounts[RuleAndCode(rule: refusal.rule, code: refusal.code), default: 0] += 1
            return state.onRefusal
        }
        handler?(refusal, body)
    }

    /// Refusals per party and code since the broker started.
    public var refusalCounts: [PartyIdentity: [ErrorCode: Int]] { state.withLock { $0.counts } }

    /// Refusals per rule and code since the broker started, the refused connections included.
    public var refusalCountsByRule: [RuleAndCode: Int] { state.withLock { $0.ruleCounts } }

    public func admit(_ publication: Publication) -> Result<Publication, PolicyRefusal> {
        switch policy.decidePublish(publication) {
        case .success(let (allowed, _)):
            return .success(allowed)
        case .failure(let refusal):
            record(refusal, body: publication.body)
            return .failure(refusal)
        }
    }

    public func checkSubscribe(_ destination: Destination, by party: PartyIdentity) -> PolicyRefusal? {
        guard case .failure(let refusal) = policy.decideSubscribe(destination, by: party) else { return nil }
        record(refusal)
        return refusal
    }

    public func permitsSubscribe(_ destination: Destination, by party: PartyIdentity) -> Bool {
        if case .success = policy.decideSubscribe(destination, by: party) { return true }
        return false
    }

    /// Admits a connection's certificate, recording a refusal (with the connection's `source` address).
    public func admitConnection(_ credentials: ConnectionCredentials, source: String? = nil) -> Result<RegisteredParty, PolicyRefusal> {
        let result = policy.admitConnection(credentials)
        if case .failure(var refusal) = result {
            refusal.source = source
            record(refusal)
        }
        return result
    }
}
