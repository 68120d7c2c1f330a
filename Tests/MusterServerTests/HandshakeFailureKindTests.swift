@testable import MusterServer
import Testing

/// The few kinds a handshake failure is counted by, from OpenSSL's and the channel's reasons.
@Suite("kinds of TLS handshake failure")
struct HandshakeFailureKindTests {
    @Test(arguments: [
        ("error:0A0000C7:SSL routines::peer did not return a certificate", HandshakeFailureKind.noCertificate),
        ("certificate verification failed: certificate has expired — error:0A000086:SSL routines::certificate verify failed", .certificateRejected),
        ("error:0A000418:SSL routines::tlsv1 alert unknown ca", .other),
        ("no handshake within 10.0 seconds", .timeout),
        ("error:0A00010B:SSL routines::wrong version number", .protocolMismatch),
        ("error:0A0000C1:SSL routines::no shared cipher", .protocolMismatch),
        ("the peer closed the connection during the handshake", .closed),
        ("Connection reset by peer", .other),
    ])
    func eachReasonHasOneKind(reason: String, kind: HandshakeFailureKind) {
        #expect(HandshakeFailureKind(reason: reason) == kind)
    }
}
