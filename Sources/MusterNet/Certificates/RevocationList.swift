public import Foundation

/// A jurisdiction's certificate revocation list (CRL), verified against its CA: which serial
/// numbers that CA has revoked. Serial numbers are unique only per issuing CA, so consult
/// this list only for certificates whose `PeerCertificate.issuerFingerprint` equals
/// `authorityFingerprint`.
public struct RevocationList: Sendable, Equatable {
    /// SHA-256 fingerprint of the CA certificate whose key signed the list.
    public let authorityFingerprint: String
    /// Revoked serial numbers: lowercase hex without leading zeros, as in `PeerCertificate`.
    public let revokedSerials: Set<String>
    /// When the list was issued.
    public let thisUpdate: Date
    /// When the CA promised the next list, if it did.
    public let nextUpdate: Date?

    /// A list from known values (for tests and fakes). Serials may be in any form
    /// `isRevoked(serialNumber:)` accepts; those that are not hexadecimal are dropped.
    public init(authorityFingerprint: String, revokedSerials: Set<String>, thisUpdate: Date, nextUpdate: Date?) {
        self.authorityFingerprint = authorityFingerprint
        self.revokedSerials = Set(revokedSerials.compactMap(SerialNumberFormat.canonical))
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
    }

    /// Reads a PEM or DER CRL from `path` and verifies its signature with one of the CA
    /// certificates in the PEM file `authorityPath` (several during a CA rollover).
    ///
    /// Throws `CertificateFileError` when a file cannot be read or the CA file holds no
    /// certificate, and `RevocationListError` when the CRL is not a CRL, is a delta CRL, or
    /// was not signed by a CA of `authorityPath`. A stale list (past `nextUpdate`) loads;
    /// ask `isStale(at:)`.
    public static func load(path: String, authorityPath: String) throws -> RevocationList {
        let bytes = try CertificateFiles.readBytes(path, what: "certificate revocation list")
        let authorities = try X509Handle.all(inFile: authorityPath, what: "CA certificate file")
        return try verified(try parse(bytes, path: path), path: path, authorities: authorities) {
            RevocationListError.notSigned(path, authority: "the CA in \(authorityPath)", issuer: $0,
                                          remedy: "use the CRL published by that jurisdiction's CA, or correct the jurisdiction's CA file")
        }
    }

    /// Whether `serialNumber` is on the list. Accepts the canonical form and the forms
    /// `openssl` prints ("serial=0A1B", "0a:1b"); anything else is not revoked.
    public func isRevoked(serialNumber: String) -> Bool {
        guard let serial = SerialNumberFormat.canonical(serialNumber) else { return false }
        return revokedSerials.contains(serial)
    }

    /// Whether the CA's promised next list is overdue at `date` (the broker should warn; a
    /// list without `nextUpdate` is never stale). The list still applies.
    public func isStale(at date: Date = Date()) -> Bool {
        guard let nextUpdate else { return false }
        return nextUpdate < date
    }

    static func parse(_ bytes: [UInt8], path: String) throws -> RevocationListHandle {
        guard !bytes.isEmpty else { throw RevocationListError.notARevocationList(path, detail: "the file is empty") }
        do {
            return try RevocationListHandle(bytes: bytes)
        } catch let error as OpenSSLError {
            throw RevocationListError.notARevocationList(path, detail: error.description)
        }
    }

    /// The list of `crl`, after checking that one of `authorities` signed it; `notSigned`
    /// makes the error for a list none of them signed, from the issuer name the list states.
    static func verified(_ crl: RevocationListHandle, path: String, authorities: [X509Handle],
                         notSigned: (String) -> RevocationListError) throws -> RevocationList {
        guard let signer = authorities.first(where: crl.isSigned(by:)) else { throw notSigned(crl.issuer) }
        return try RevocationList(crl, path: path, signer: signer)
    }
}

extension RevocationList {
    /// The list of `crl`, whose signature `signer` has verified.
    init(_ crl: RevocationListHandle, path: String, signer: X509Handle) throws {
        guard !crl.isDelta else { throw RevocationListError.delta(path) }
        guard let thisUpdate = crl.thisUpdate else {
            throw RevocationListError.notARevocationList(path, detail: "its thisUpdate time cannot be read")
        }
        self.init(authorityFingerprint: X509Fields.sha256Fingerprint(signer.pointer),
                  revokedSerials: crl.revokedSerials, thisUpdate: thisUpdate, nextUpdate: crl.nextUpdate)
    }
}
