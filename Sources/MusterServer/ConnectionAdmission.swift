import MusterBroker
import MusterNet
import MusterProtocol

/// Who a verified TLS peer is, and whether the policy lets it in: its certificate must name one
/// party (`muster://JURISDICTION/PARTY`), and the policy must admit that party with that
/// certificate. Every refusal is recorded in the audit destination.
enum ConnectionAdmission {
    static func admit(_ certificate: PeerCertificate?, policy: PolicyGate?) -> Result<ConnectionCredentials, BrokerError> {
        let certificate = certificate ?? PeerCertificate(subject: "", uriNames: [])
        switch PartyIdentity.from(uriNames: certificate.uriNames, subject: certificate.subject) {
        case .success(let party):
            let credentials = ConnectionCredentials(identity: party, subject: certificate.subject, serialNumber: certificate.serialNumber,
                                                    issuerFingerprint: certificate.issuerFingerprint, anchorFingerprint: certificate.anchorFingerprint)
            if let policy, case .failure(let refusal) = policy.admitConnection(credentials) { return .failure(refusal.reported) }
            return .success(credentials)
        case .failure(let reason):
            let error = BrokerError(.identityRefused, reason.description)
            policy?.record(PolicyRefusal(error, rule: "certificate identity", party: nil))
            return .failure(error)
        }
    }
}
