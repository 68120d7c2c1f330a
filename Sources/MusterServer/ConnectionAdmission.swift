import MusterBroker
import MusterFederation
import MusterNet
import MusterProtocol

/// Who a verified TLS peer is, and whether the policy lets it in: its certificate must name one
/// party (`muster://JURISDICTION/PARTY`), and the policy must admit that party with that
/// certificate. Every refusal is recorded in the audit destination.
///
/// A peer broker's certificate (`muster://JURISDICTION/broker`) is admitted instead when that
/// jurisdiction is a federation peer and the certificate chains to the CA configured for it:
/// that CA vouches for that one broker, and for nothing else.
enum ConnectionAdmission {
    /// Where the connection came in: a party of kind `monitor` may use only the board's listener
    /// (it reads `/metrics` there), never STOMP.
    enum Listener {
        case stomp, board
    }

    static func admit(_ certificate: PeerCertificate?, from source: String, policy: PolicyGate?,
                      federation: FederationState? = nil, listener: Listener = .stomp) -> Result<ConnectionCredentials, BrokerError> {
        let certificate = certificate ?? PeerCertificate(subject: "", uriNames: [])
        switch PartyIdentity.from(uriNames: certificate.uriNames, subject: certificate.subject) {
        case .success(let party):
            let credentials = ConnectionCredentials(identity: party, subject: certificate.subject, serialNumber: certificate.serialNumber,
                                                    issuerFingerprint: certificate.issuerFingerprint, anchorFingerprint: certificate.anchorFingerprint)
            if let refusal = check(credentials, from: source, policy: policy, federation: federation, listener: listener) { return .failure(refusal) }
            return .success(credentials)
        case .failure(let reason):
            let error = BrokerError(.identityRefused, reason.description)
            policy?.record(PolicyRefusal(error, rule: "certificate identity", party: nil, source: source))
            return .failure(error)
        }
    }

    /// Why `credentials` may not stay connected (recorded as a refusal), or nil: at the handshake
    /// and again after each reload.
    static func check(_ credentials: ConnectionCredentials, from source: String? = nil, policy: PolicyGate?,
                      federation: FederationState?, listener: Listener = .stomp) -> BrokerError? {
        let identity = credentials.identity
        guard identity.party == PartyIdentity.brokerParty, let federation else {
            guard let policy else { return nil }
            switch policy.admitConnection(credentials, source: source) {
            case .failure(let refusal): return refusal.reported
            case .success(let party) where party.kind == .monitor && listener == .stomp:
                let error = BrokerError(.notAuthorized, "\(identity) is a monitor: it reads /metrics over HTTPS (web.listen) and may not connect over STOMP")
                policy.record(PolicyRefusal(error, rule: "party kind monitor", party: identity, source: source))
                return error
            case .success: return nil
            }
        }
        let error: BrokerError
        let rule = "federation: peer \(identity.jurisdiction)"
        if let peer = federation.rules.peer(identity.jurisdiction) {
            let anchors = [credentials.anchorFingerprint, credentials.issuerFingerprint]
            if anchors.contains(where: peer.authorityFingerprints.contains) {
                // The peer's CRL (its jurisdiction's in the parties file) applies to its broker too.
                guard policy?.policy.trust.revokedSerials[credentials.issuerFingerprint]?.contains(credentials.serialNumber) == true else { return nil }
                error = BrokerError(.identityRefused, "the certificate of \(identity.uri) (serial \(credentials.serialNumber)) is revoked by "
                                    + "\(identity.jurisdiction)'s certificate revocation list")
            } else {
                error = BrokerError(.identityRefused, "the certificate claims \(identity.uri) but was not issued by the CA configured for peer "
                                + "\(identity.jurisdiction) (\(peer.authorityPath) in federation.peers); that CA alone vouches for its broker")
            }
        } else {
            error = BrokerError(.identityRefused, "\(identity.uri) is a broker certificate, but \(identity.jurisdiction) is not a federation "
                                + "peer of this broker; add it to federation.peers in muster.yaml to link with it")
        }
        policy?.record(PolicyRefusal(error, rule: rule, party: identity, source: source))
        return error
    }

    /// Records a connection refused at the TLS handshake (no certificate, an unknown or expired
    /// one, a wrong key usage, a broken chain): the audit sees it as it sees refused identities.
    static func recordHandshakeRefusal(_ error: TLSHandshakeError, policy: PolicyGate?) {
        ServerMetrics.handshakeFailed(HandshakeFailureKind(reason: error.reason))
        policy?.record(PolicyRefusal(BrokerError(.identityRefused, "the TLS handshake failed: \(error.reason)"), rule: "TLS handshake",
                                     party: nil, source: host(of: error.peer)))
    }

    /// `HOST` of `HOST:PORT` or `[HOST]:PORT`: refusals are counted per address, whatever the port.
    static func host(of address: String) -> String {
        if address.hasPrefix("["), let end = address.firstIndex(of: "]") { return String(address[address.index(after: address.startIndex)..<end]) }
        guard let colon = address.lastIndex(of: ":") else { return address }
        return String(address[..<colon])
    }
}
