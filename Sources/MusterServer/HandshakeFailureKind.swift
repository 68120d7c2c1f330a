/// Why a TLS handshake failed, in a few kinds a metric can be labelled with (the reason text
/// itself names certificates and addresses: a label per text would grow without bound).
enum HandshakeFailureKind: String, CaseIterable {
    case noCertificate = "no_certificate"
    case certificateRejected = "certificate_rejected"
    case timeout
    case protocolMismatch = "protocol"
    case closed
    case other

    init(reason: String) {
        let text = reason.lowercased()
        if text.contains("did not return a certificate") || text.contains("certificate required") {
            self = .noCertificate
        } else if text.contains("certificate") {
            self = .certificateRejected
        } else if text.hasPrefix("no handshake within") {
            self = .timeout
        } else if text.contains("version") || text.contains("protocol") || text.contains("cipher") || text.contains("http request") {
            self = .protocolMismatch
        } else if text.contains("closed the connection") {
            self = .closed
        } else {
            self = .other
        }
    }
}
