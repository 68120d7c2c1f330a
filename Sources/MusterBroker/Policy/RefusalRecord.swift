public import MusterProtocol
/// The audit evidence of one refusal, stored in `RefusalRecord.destination` as JSON. Of the
/// refused message only its SHA-256 digest and size are kept, never its content.
public struct RefusalRecord: Codable, Sendable, Equatable {
    /// The reserved destination every refusal is appended to (auditors may read it).
    public static let destination = Destination(kind: .topic, name: "muster.audit.refusals")
    public static let type = "refusal"

    /// `JURISDICTION/PARTY`, or nil when the certificate named no party.
    public let party: String?
    public let jurisdiction: String?
    public let destination: String?
    public let type: String?
    public let rule: String
    public let code: String
    public let reason: String
    /// Milliseconds since 1970.
    public let time: Int64
    /// `sha256:HEX` of the refused body, if a body was refused.
    public let digest: String?
    public let bytes: Int?
    /// A refused connection's address.
    public let source: String?
    /// On a summary: how many more refusals like this one came since `since` (ms since 1970).
    public let repeated: Int?
    public let since: Int64?

    public init(_ refusal: PolicyRefusal, time: Int64, digest: String?, bytes: Int?, repeated: Int? = nil, since: Int64? = nil) {
        source = refusal.source
        self.repeated = repeated
        self.since = since
        party = refusal.party?.party
        jurisdiction = refusal.party?.jurisdiction
        destination = refusal.destination?.description
        type = refusal.type
        rule = refusal.rule
        code = refusal.code.rawValue
        reason = refusal.error.message
        self.time = time
        self.digest = digest
        self.bytes = bytes
    }
}
