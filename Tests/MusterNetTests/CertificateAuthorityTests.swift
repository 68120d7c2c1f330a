import Foundation
import MusterNet
import MusterTestSupport
import Testing

// Certificates are checked independently with the `openssl` command-line tool.

@Test func authorityIsSelfSignedAndMarkedAsCA() async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA", organization: "Jinshan")
        let paths = try write(ca.certificate, in: directory, named: "ca")

        let names = try await openssl("x509", "-in", paths.certificate, "-noout", "-subject", "-issuer", "-nameopt", "RFC2253")
        #expect(names.output.contains("subject=CN=Muster Test CA,O=Jinshan"))
        #expect(names.output.contains("issuer=CN=Muster Test CA,O=Jinshan"))
        #expect(try await openssl("verify", "-CAfile", paths.certificate, paths.certificate).isOK(paths.certificate))

        let extensions = try await openssl("x509", "-in", paths.certificate, "-noout",
                                     "-ext", "basicConstraints,keyUsage,subjectKeyIdentifier").output
        #expect(extensions.contains("X509v3 Basic Constraints: critical\n    CA:TRUE"))
        #expect(extensions.contains("X509v3 Key Usage: critical\n    Certificate Sign, CRL Sign"))
        #expect(extensions.contains("X509v3 Subject Key Identifier"))
    }
}

@Test func keysAreUnencryptedPKCS8P256AndSignaturesSHA256() async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
        let leaf = try ca.issue(commonName: "broker", usage: .server)
        let paths = try write(leaf, in: directory, named: "leaf")

        #expect(leaf.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let key = try await openssl("pkey", "-in", paths.key, "-noout", "-text", "-passin", "pass:")
        #expect(key.status == 0)
        #expect(key.output.contains("NIST CURVE: P-256"))
        let text = try await openssl("x509", "-in", paths.certificate, "-noout", "-text").output
        #expect(text.contains("Signature Algorithm: ecdsa-with-SHA256"))
        // The key file holds the private half of the certificate's public key.
        let certificateKey = try await openssl("x509", "-in", paths.certificate, "-noout", "-pubkey").output
        let derivedKey = try await openssl("pkey", "-in", paths.key, "-pubout").output
        #expect(certificateKey.contains("BEGIN PUBLIC KEY") && certificateKey == derivedKey)
    }
}

@Test func issuedClientCertificateVerifiesAgainstItsAuthority() async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
        let caPaths = try write(ca.certificate, in: directory, named: "ca")
        let client = try ca.issue(commonName: "langxia-town", usage: .client, uriNames: ["muster://jinshan/langxia-town"])
        let paths = try write(client, in: directory, named: "client")

        let result = try await openssl("verify", "-CAfile", caPaths.certificate, "-purpose", "sslclient", paths.certificate)
        #expect(result.isOK(paths.certificate), "\(result.output)")
    }
}

@Test func certificateFromAnotherAuthorityDoesNotVerify() async throws {
    try await withScratchDirectory { directory in
        let first = try write(try CertificateAuthority.create(commonName: "First CA").certificate, in: directory, named: "first")
        let second = try CertificateAuthority.create(commonName: "Second CA")
        let secondPaths = try write(second.certificate, in: directory, named: "second")
        let leaf = try write(try second.issue(commonName: "broker", usage: .server), in: directory, named: "leaf")

        #expect(try await openssl("verify", "-CAfile", secondPaths.certificate, leaf.certificate).isOK(leaf.certificate))
        let result = try await openssl("verify", "-CAfile", first.certificate, leaf.certificate)
        #expect(result.status != 0)
        #expect(result.output.contains("unable to get local issuer certificate"))
    }
}

@Test func subjectAltNameHoldsEveryName() async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
        let caPaths = try write(ca.certificate, in: directory, named: "ca")
        let server = try ca.issue(commonName: "broker", usage: .server, uriNames: ["muster://jinshan/langxia-town"],
                                  dnsNames: ["localhost", "broker.example"], ipAddresses: ["127.0.0.1", "::1"])
        let paths = try write(server, in: directory, named: "server")

        let names = try await openssl("x509", "-in", paths.certificate, "-noout", "-ext", "subjectAltName").output
        for name in ["URI:muster://jinshan/langxia-town", "DNS:localhost", "DNS:broker.example",
                     "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"] {
            #expect(names.contains(name), "\(name) missing from \(names)")
        }
        let verified = try await openssl("verify", "-CAfile", caPaths.certificate, "-verify_hostname", "localhost",
                                   "-verify_ip", "127.0.0.1", paths.certificate)
        #expect(verified.isOK(paths.certificate), "\(verified.output)")
    }
}

@Test func malformedIPAddressIsRejected() async throws {
    let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
    #expect(throws: OpenSSLError.self) {
        try ca.issue(commonName: "broker", usage: .server, ipAddresses: ["127.0.0.256"])
    }
}

@Test func expiredCertificateIsReportedExpired() async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
        let caPaths = try write(ca.certificate, in: directory, named: "ca")
        let day: TimeInterval = 86400
        let expired = try ca.issue(commonName: "old", usage: .client, notBefore: Date().addingTimeInterval(-2 * day),
                                   notAfter: Date().addingTimeInterval(-day))
        let paths = try write(expired, in: directory, named: "expired")

        let result = try await openssl("verify", "-CAfile", caPaths.certificate, paths.certificate)
        #expect(result.status != 0)
        #expect(result.output.contains("certificate has expired"), "\(result.output)")
        // Expiry is the only fault.
        #expect(try await openssl("verify", "-CAfile", caPaths.certificate, "-no_check_time", paths.certificate)
            .isOK(paths.certificate))
    }
}

@Test func keyFileIsPrivateAndCertificateIsPublic() async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
        let keyPath = directory + "/new/nested/ca.key"
        let certificatePath = directory + "/other/ca.crt"
        // Overwrites an existing, world-readable key file and leaves it 0600.
        try FileManager.default.createDirectory(atPath: directory + "/new/nested", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: keyPath, contents: Data("stale".utf8),
                                               attributes: [.posixPermissions: 0o644]))

        try ca.certificate.write(certificateTo: certificatePath, keyTo: keyPath)
        #expect(try permissions(of: keyPath) == 0o600)
        #expect(try permissions(of: certificatePath) == 0o644)
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == ca.certificate.privateKeyPEM)
        #expect(try String(contentsOfFile: certificatePath, encoding: .utf8) == ca.certificate.certificatePEM)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/new/nested")
        #expect(leftovers == ["ca.key"])
    }
}

@Test(arguments: [CertificateUsage.server, .client])
func extendedKeyUsageMatchesUsage(usage: CertificateUsage) async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
        let caPaths = try write(ca.certificate, in: directory, named: "ca")
        let paths = try write(try ca.issue(commonName: "peer", usage: usage), in: directory, named: "peer")

        let (wanted, unwanted) = usage == .server
            ? ("TLS Web Server Authentication", "TLS Web Client Authentication")
            : ("TLS Web Client Authentication", "TLS Web Server Authentication")
        let extensions = try await openssl("x509", "-in", paths.certificate, "-noout",
                                     "-ext", "extendedKeyUsage,basicConstraints,keyUsage").output
        #expect(extensions.contains(wanted) && !extensions.contains(unwanted), "\(extensions)")
        #expect(extensions.contains("CA:FALSE") && extensions.contains("Digital Signature"))

        let (purpose, otherPurpose) = usage == .server ? ("sslserver", "sslclient") : ("sslclient", "sslserver")
        #expect(try await openssl("verify", "-CAfile", caPaths.certificate, "-purpose", purpose, paths.certificate)
            .isOK(paths.certificate))
        #expect(try await openssl("verify", "-CAfile", caPaths.certificate, "-purpose", otherPurpose, paths.certificate)
            .status != 0)
    }
}

@Test func authorityLoadedFromFilesIssuesVerifiableCertificates() async throws {
    try await withScratchDirectory { directory in
        let original = try CertificateAuthority.create(commonName: "Muster Test CA")
        let caPaths = try write(original.certificate, in: directory, named: "ca")

        let loaded = try CertificateAuthority(certificatePath: caPaths.certificate, keyPath: caPaths.key)
        #expect(loaded.certificate == original.certificate)
        let paths = try write(try loaded.issue(commonName: "broker", usage: .server, dnsNames: ["localhost"]),
                              in: directory, named: "server")
        #expect(try await openssl("verify", "-CAfile", caPaths.certificate, paths.certificate).isOK(paths.certificate))

        // The leaf's authorityKeyIdentifier is the CA's subjectKeyIdentifier.
        let caKeyID = try await openssl("x509", "-in", caPaths.certificate, "-noout", "-ext", "subjectKeyIdentifier")
            .output.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) }
        let authorityKeyID = try await openssl("x509", "-in", paths.certificate, "-noout", "-ext", "authorityKeyIdentifier").output
        #expect(caKeyID.map { $0.count > 20 && authorityKeyID.contains($0) } == true, "\(authorityKeyID)")
    }
}

@Test func loadingNamesTheFileThatIsMissingOrWrong() async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
        let caPaths = try write(ca.certificate, in: directory, named: "ca")
        let leafPaths = try write(try ca.issue(commonName: "broker", usage: .server), in: directory, named: "leaf")
        let missing = directory + "/missing.crt"

        let notFound = #expect(throws: CertificateFileError.self) {
            try CertificateAuthority(certificatePath: missing, keyPath: caPaths.key)
        }
        #expect(notFound?.path == missing && notFound?.errno == ENOENT)
        #expect(notFound?.description.contains("No such file or directory") == true)

        let notCA = #expect(throws: CertificateFileError.self) {
            try CertificateAuthority(certificatePath: leafPaths.certificate, keyPath: leafPaths.key)
        }
        #expect(notCA?.path == leafPaths.certificate)

        let wrongKey = #expect(throws: CertificateFileError.self) {
            try CertificateAuthority(certificatePath: caPaths.certificate, keyPath: leafPaths.key)
        }
        #expect(wrongKey?.path == leafPaths.key)

        let notPEM = #expect(throws: CertificateFileError.self) {
            try CertificateAuthority(certificatePath: caPaths.key, keyPath: caPaths.key)
        }
        #expect(notPEM?.path == caPaths.key)
    }
}

@Test func serialNumbersAreRandomAndPositive() async throws {
    try await withScratchDirectory { directory in
        let ca = try CertificateAuthority.create(commonName: "Muster Test CA")
        var serials: Set<String> = []
        for index in 0..<3 {
            let paths = try write(try ca.issue(commonName: "peer", usage: .client), in: directory, named: "peer\(index)")
            let serial = try await openssl("x509", "-in", paths.certificate, "-noout", "-serial").output
            #expect(serial.hasPrefix("serial=") && serial.count == "serial=".count + 32 + 1, "\(serial)")
            #expect("4567".contains(serial.dropFirst("serial=".count).first ?? "?"), "\(serial)")  // 0b01xx_xxxx
            serials.insert(serial)
        }
        #expect(serials.count == 3)
    }
}

// MARK: - Helpers

private struct CommandResult {
    let status: Int32
    let output: String

    /// Whether `openssl verify` accepted `path`.
    func isOK(_ path: String) -> Bool { status == 0 && output.contains("\(path): OK") }
}

/// Runs the openssl CLI, capturing stdout and stderr together.
private func openssl(_ arguments: String...) async throws -> CommandResult {
    let run = try await runProcess("openssl", arguments)
    return CommandResult(status: run.status, output: run.output)
}

/// Runs `body` with a fresh temporary directory and removes it afterwards.
private func withScratchDirectory(_ body: (String) async throws -> Void) async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("muster-pki-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try await body(path)
}

/// Writes `pem` as `<name>.crt` and `<name>.key` in `directory`.
private func write(_ pem: PEMCertificate, in directory: String, named name: String) throws -> (certificate: String, key: String) {
    let paths = (certificate: "\(directory)/\(name).crt", key: "\(directory)/\(name).key")
    try pem.write(certificateTo: paths.certificate, keyTo: paths.key)
    return paths
}

private func permissions(of path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}
