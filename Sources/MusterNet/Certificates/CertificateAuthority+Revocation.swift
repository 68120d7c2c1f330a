internal import COpenSSL
public import Foundation

extension CertificateAuthority {
    /// A certificate revocation list signed by this CA (X.509 v2, SHA-256), as PEM, revoking
    /// `serials` (hex, in any form `openssl` prints; duplicates are merged). Every entry is
    /// dated `thisUpdate`; the cRLNumber is `thisUpdate` in milliseconds since 1970.
    public func revocationList(revoking serials: [String], thisUpdate: Date = Date(),
                               nextUpdate: Date = Date().addingTimeInterval(30 * 86400)) throws -> String {
        let builder = RevocationListBuilder(serials: try Self.canonical(serials), thisUpdate: thisUpdate,
                                            nextUpdate: nextUpdate, number: Self.number(at: thisUpdate))
        return try builder.build(issuer: try X509Handle(pem: certificate.certificatePEM),
                                 key: try PrivateKeyHandle(pem: certificate.privateKeyPEM)).pem()
    }

    /// Adds `serials` to the CRL file at `path` and signs it anew (creating the file, mode
    /// 0644, if there is none): the new list holds every serial the old one held, is valid
    /// from `now` for `days` days, and has a higher cRLNumber. The file is replaced
    /// atomically. Returns the list as written.
    ///
    /// Throws `RevocationListError` if the existing file is not a CRL or was signed by
    /// another CA (e.g. one since replaced), and `CertificateFileError` if it cannot be
    /// read or written.
    public func updateRevocationList(at path: String, revoking serials: [String], validFor days: Int = 30,
                                     now: Date = Date()) throws -> RevocationList {
        let issuer = try X509Handle(pem: certificate.certificatePEM)
        var merged = Set(try Self.canonical(serials))
        var number = Self.number(at: now)
        if access(path, F_OK) == 0 {
            let existing = try RevocationList.parse(try CertificateFiles.readBytes(path, what: "certificate revocation list"),
                                                    path: path)
            let subject = X509Fields.subject(issuer.pointer)
            merged.formUnion(try RevocationList.verified(existing, path: path, authorities: [issuer]) {
                RevocationListError.notSigned(path, authority: "the CA \(subject)", issuer: $0,
                                              remedy: "it belongs to another CA (was this CA replaced?); move it aside to start a new list")
            }.revokedSerials)
            if let previous = existing.number, previous >= number { number = previous &+ 1 }
        }
        let builder = RevocationListBuilder(serials: merged.sorted(), thisUpdate: now,
                                            nextUpdate: now.addingTimeInterval(Double(days) * 86400), number: number)
        let crl = try builder.build(issuer: issuer, key: try PrivateKeyHandle(pem: certificate.privateKeyPEM))
        try CertificateFiles.write(try crl.pem(), to: path, mode: 0o644, what: "certificate revocation list")
        return try RevocationList(crl, path: path, signer: issuer)
    }

    /// Whether this CA issued the first certificate of `certificatePEM`: its issuer name and
    /// authority key identifier match this CA and this CA's key signed it.
    public func hasIssued(certificatePEM: String) throws -> Bool {
        let issuer = try X509Handle(pem: certificate.certificatePEM)
        let subject = try X509Handle(pem: certificatePEM)
        defer { ERR_clear_error() }
        return withExtendedLifetime((issuer, subject)) {
            guard X509_check_issued(issuer.pointer, subject.pointer) == X509_V_OK,
                  let key = X509_get0_pubkey(issuer.pointer) else { return false }  // borrowed from `issuer`
            return X509_verify(subject.pointer, key) == 1
        }
    }

    private static func canonical(_ serials: [String]) throws -> [String] {
        var seen: Set<String> = []
        return try serials.compactMap { serial in
            guard let canonical = SerialNumberFormat.canonical(serial) else { throw RevocationListError.invalidSerial(serial) }
            return seen.insert(canonical).inserted ? canonical : nil
        }
    }

    private static func number(at date: Date) -> UInt64 {
        UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
