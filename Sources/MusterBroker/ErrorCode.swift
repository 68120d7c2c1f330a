/// The catalogue of refusals. Codes are stable: clients match on them, so never rename one.
/// Each ERROR frame carries the code in `muster-error-code` and a sentence saying what to do.
public enum ErrorCode: String, Sendable, CaseIterable {
    case malformedFrame = "malformed-frame"
    case frameTooLarge = "frame-too-large"
    case unsupportedVersion = "unsupported-version"
    case notConnected = "not-connected"
    case alreadyConnected = "already-connected"
    case missingHeader = "missing-header"
    case invalidHeader = "invalid-header"
    case reservedHeader = "reserved-header"
    case invalidDestination = "invalid-destination"
    case duplicateSubscription = "duplicate-subscription"
    case unknownSubscription = "unknown-subscription"
    case tooManySubscriptions = "too-many-subscriptions"
    case unknownAck = "unknown-ack"
    case ackSuperseded = "ack-superseded"
    case durableConflict = "durable-conflict"
    case invalidQuery = "invalid-query"
    case unknownTransaction = "unknown-transaction"
    case duplicateTransaction = "duplicate-transaction"
    case heartbeatTimeout = "heartbeat-timeout"
    case identityRefused = "identity-refused"
    case notAuthorized = "not-authorized"
    case wrongType = "wrong-type"
    case schemaViolation = "schema-violation"
    case notAdmitted = "not-admitted"
    case invalidTransition = "invalid-transition"
    case unknownWorkflow = "unknown-workflow"
    case unknownParty = "unknown-party"
    case storageFailure = "storage-failure"
    case shuttingDown = "shutting-down"

    /// What the user should do about it.
    public var advice: String {
        switch self {
        case .malformedFrame: return "Send frames as STOMP 1.2 defines them; the connection was closed."
        case .frameTooLarge: return "Send smaller frames, or ask the operator to raise the limits in muster.yaml."
        case .unsupportedVersion: return "Connect with accept-version:1.2."
        case .notConnected: return "Send CONNECT (or STOMP) first."
        case .alreadyConnected: return "Send CONNECT once per connection."
        case .missingHeader: return "Add the header the frame requires."
        case .invalidHeader: return "Correct the header value as described."
        case .reservedHeader: return "Do not send muster-sender headers; the broker stamps them from your certificate."
        case .invalidDestination: return "Use /topic/NAME or /queue/NAME."
        case .duplicateSubscription: return "Use a new subscription id, or UNSUBSCRIBE the old one first."
        case .unknownSubscription: return "Name a subscription id this connection created."
        case .tooManySubscriptions: return "Unsubscribe from something first, or ask the operator to raise limits.max-subscriptions."
        case .unknownAck: return "Acknowledge with the ack header of a MESSAGE this connection received and has not yet settled."
        case .ackSuperseded: return "The message was delivered again; acknowledge the newest delivery (its ack header), or ask the operator for a longer ack-wait."
        case .durableConflict: return "Use another subscription id, or UNSUBSCRIBE with durable:true to delete the old durable subscription first."
        case .invalidQuery: return "Send the query as Schemas/protocol.md describes (muster-query, reply-to and its parameters)."
        case .unknownTransaction: return "BEGIN the transaction first, and name it in the transaction header."
        case .duplicateTransaction: return "Use a new transaction id."
        case .heartbeatTimeout: return "Send heart-beats at the negotiated interval, or negotiate a longer one."
        case .identityRefused: return "Connect with a valid, unrevoked certificate from your own jurisdiction's CA that carries one muster://JURISDICTION/PARTY URI name of a configured party."
        case .notAuthorized: return "Ask the operator to grant your party this permission in the topics file (the rule named above)."
        case .wrongType: return "Send a message type the destination carries, named in the muster-type header (Schemas/README.md lists the types)."
        case .schemaViolation: return "Correct the value at the JSON Pointer named above so that the body matches the type's schema in Schemas/."
        case .notAdmitted: return "This task type may not be sent here; ask the recipient's township to admit it to the admission list, or send it elsewhere."
        case .invalidTransition: return "The workflow is not in a state that allows this action by this party (its current state is named above); send what that state allows."
        case .unknownWorkflow: return "Name a summons, hand-off or operation id the broker assigned (muster summons list, muster handoff list)."
        case .unknownParty: return "Name parties by the ids Config/parties.yaml declares (muster policy check lists them)."
        case .storageFailure: return "The message was not stored; retry later and tell the operator."
        case .shuttingDown: return "The broker is shutting down; reconnect in a moment."
        }
    }
}

/// A refusal with its catalogue code and a message naming what was wrong.
public struct BrokerError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message). \(code.advice)" }
}
