internal import COpenSSL
import Glibc

extension TLSChannel {
    /// Drives SSL_accept / SSL_connect one step; called on every readiness event until done.
    func continueHandshake() {
        ERR_clear_error()
        let result = role == .server ? SSL_accept(ssl) : SSL_connect(ssl)
        if result == 1 {
            markOpen()
            setInterest(readable: !readingPaused, writable: pendingOutboundByteCount > 0)
            delegate?.channelDidOpen(self)
            if state == .open {
                // Bytes may have arrived with the final handshake flight.
                handleReadiness(readable: true, writable: pendingOutboundByteCount > 0, hangup: false)
            }
            return
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ:
            setInterest(readable: !readingPaused, writable: false)
        case SSL_ERROR_WANT_WRITE:
            setInterest(readable: !readingPaused, writable: true)
        default:
            finishClose(error: TLSHandshakeError(peer: remoteAddress, reason: handshakeFailureReason(result: result)))
        }
    }

    /// The most specific reason OpenSSL gives for a failed handshake.
    private func handshakeFailureReason(result: Int32) -> String {
        let verifyResult = SSL_get_verify_result(ssl)
        let queue = OpenSSLError.drainQueue()
        var reasons: [String] = []
        if verifyResult != X509_V_OK, let text = X509_verify_cert_error_string(verifyResult) {
            reasons.append("certificate verification failed: \(String(cString: text))")
        }
        if !queue.isEmpty {
            reasons.append(queue.joined(separator: "; "))
        } else if reasons.isEmpty {
            reasons.append(errno != 0 ? "\(SystemError(call: "handshake", errno: errno).text)" : "the peer closed the connection during the handshake")
        }
        return reasons.joined(separator: " — ")
    }

    /// Makes the client check that the server certificate names `serverName` (IP or DNS).
    static func requireServerName(_ serverName: String, on ssl: OpaquePointer) throws {
        let isAddress = serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
        if isAddress {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) == 1 else {
                throw OpenSSLError.drain("X509_VERIFY_PARAM_set1_ip_asc(\(serverName))")
            }
        } else {
            guard SSL_set1_host(ssl, serverName) == 1 else { throw OpenSSLError.drain("SSL_set1_host(\(serverName))") }
            _ = muster_SSL_set_tlsext_host_name(ssl, serverName)
        }
    }
}
