public import MusterProtocol
/// Which certificate authority vouches for which jurisdiction, and which certificates each
/// authority has revoked. Fingerprints are lowercase hex SHA-256 of the CA certificate's DER.
public struct CertificateTrust: Sendable, Equatable {
    /// jurisdiction → fingerprints of its CA certificates (several during a CA rollover).
    public var authorities: [String: Set<String>]
    /// CA fingerprint → serial numbers (lowercase hex) it revoked, from its CRLs.
    public var revokedSerials: [String: Set<String>]

    public init(authorities: [String: Set<String>] = [:], revokedSerials: [String: Set<String>] = [:]) {
        self.authorities = authorities
        self.revokedSerials = revokedSerials
    }
}

/// What a verified client certificate says, as the policy needs it.
public struct ConnectionCredentials: Sendable, Equatable {
    public let identity: PartyIdentity
    public let subject: String
    public let serialNumber: String
    /// The CA certificate that signed the client's certificate.
    public let issuerFingerprint: String
    /// The root the verified chain ends at.
    public let anchorFingerprint: String

    public init(identity: PartyIdentity, subject: String, serialNumber: String, issuerFingerprint: String, anchorFingerprint: String) {
        self.identity = identity
        self.subject = subject
        self.serialNumber = serialNumber
        self.issuerFingerprint = issuerFingerprint
        self.anchorFingerprint = anchorFingerprint
    }
}
