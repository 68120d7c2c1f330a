public import MusterProtocol
/// A refusal by policy, with what the audit record needs: who, where, which type, which rule.
public struct PolicyRefusal: Error, Sendable, CustomStringConvertible {
    public let error: BrokerError
    /// The rule that refused, said so that an operator can find it.
    public let rule: String
    public let party: PartyIdentity?
    public let destination: Destination?
    public let type: String?
    /// Where a refused connection came from (its address, without the port).
    public var source: String?

    public init(_ error: BrokerError, rule: String, party: PartyIdentity?, destination: Destination? = nil, type: String? = nil,
                source: String? = nil) {
        self.error = error
        self.rule = rule
        self.party = party
        self.destination = destination
        self.type = type
        self.source = source
    }

    public var code: ErrorCode { error.code }

    /// The ERROR the client gets: the reason and the rule that refused.
    public var reported: BrokerError { BrokerError(error.code, "\(error.message) [rule: \(rule)]") }
    public var description: String { "\(error) (rule: \(rule))" }
}

/// What allowed an action, for `muster policy explain` and the debug log.
public struct PolicyGrant: Sendable, Equatable, CustomStringConvertible {
    public let rule: String
    /// The message type the publication was checked against (nil: untyped).
    public let type: String?

    public init(rule: String, type: String? = nil) {
        self.rule = rule
        self.type = type
    }

    public var description: String { type.map { "\(rule), type \($0)" } ?? rule }
}

extension Result where Failure == PolicyRefusal {
    /// The refusal of a decision, nil when it allowed.
    public var refusal: PolicyRefusal? {
        if case .failure(let refusal) = self { return refusal }
        return nil
    }
}
