import MusterBroker
import MusterNet
import MusterProtocol

/// Who a verified TLS peer is, and whether the policy lets it in: its certificate must name one
/// party (`muster://JURISDICTION/PARTY`), and the policy must admit that party with that
/// certificate. Every refusal is recorded in the audit destination.
enum ConnectionAdmission {
    static func admit(_ certificate: PeerCertificate?, from source: String, policy: PolicyGate?) -> Result<ConnectionCredentials, BrokerError> {
        let certificate = certificate ?? PeerCertificate(subject: "", uriNames: [])
        switch PartyIdentity.from(uriNames: certificate.uriNames, subject: certificate.subject) {
        case .success(let party):
            let credentials = ConnectionCredentials(identity: party, subject: certificate.subject, serialNumber: certificate.serialNumber,
                                                    issuerFingerprint: certificate.issuerFingerprint, anchorFingerprint: certificate.anchorFingerprint)
            if let policy, case .failure(let refusal) = policy.admitConnection(credentials, source: source) { return .failure(refusal.reported) }
            return .success(credentials)
        case .failure(let reason):
            let error = BrokerError(.identityRefused, reason.description)
            policy?.record(PolicyRefusal(error, rule: "certificate identity", party: nil, source: source))
            return .failure(error)
        }
    }

    /// Records a connection refused at the TLS handshake (no certificate, an unknown or expired
    /// one, a wrong key usage, a broken chain): the audit sees it as it sees refused identities.
    static func recordHandshakeRefusal(_ error: TLSHandshakeError, policy: PolicyGate?) {
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
