import Testing

/// TLS 1.2 is offered with forward-secret AEAD suites only (TLS 1.3 has no others): a client
/// that offers nothing but CBC suites is refused at the handshake. Checked with `openssl s_client`.
@Suite("TLS 1.2 cipher suites")
struct CipherSuiteTests {
    /// What `openssl s_client -tls1_2 -cipher SUITE` negotiated with the broker's server context ("(NONE)" when refused).
    private func negotiated(_ suite: String) async throws -> String {
        var cipher = ""
        try await withTLSHarness { harness in
            let files = try harness.pki.client("langxia-town")
            let result = try await runOpenSSL(["s_client", "-connect", "127.0.0.1:\(harness.port)", "-tls1_2", "-cipher", suite,
                                               "-cert", files.certificate, "-key", files.key, "-CAfile", files.authority])
            let line = result.output.components(separatedBy: "\n").first { $0.contains("Cipher is ") } ?? "Cipher is (no line) \(result.errors)"
            cipher = String(line[line.range(of: "Cipher is ")!.upperBound...])
        }
        return cipher
    }

    @Test(arguments: ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"])
    func aeadSuitesWithForwardSecrecyAreAccepted(suite: String) async throws {
        #expect(try await negotiated(suite) == suite)
    }

    @Test(arguments: ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384"])
    func cbcSuitesAreRefused(suite: String) async throws {
        #expect(try await negotiated(suite) == "(NONE)")
    }
}
