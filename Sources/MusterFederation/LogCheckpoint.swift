import Foundation
public import MusterBroker
import MusterNet
public import MusterProtocol
import MusterStomp

/// A broker's signed statement of its log's state: which log (id and jurisdiction), its head
/// (offset and chain hash) and when. Signed with the broker's own key (its certificate,
/// `muster://JURISDICTION/broker`, comes with it), so that an auditor who keeps it can later
/// prove, with only the jurisdiction's CA, that the log was rewritten at or before that offset.
/// Peers store each other's (`CheckpointHeader`). The signed bytes and the JSON form are in
/// Schemas/log-format.md ("Signed checkpoints").
public struct LogCheckpoint: Codable, Sendable, Equatable {
    public static let format = "muster-checkpoint/1"
    public let format: String
    public let logID: String
    public let jurisdiction: String
    public let offset: UInt64
    /// The chain hash of the record at `offset`, 64 hex digits.
    public let chain: String
    /// Milliseconds since 1970 (the broker's clock when it signed).
    public let time: Int64
    /// The signer's certificate, PEM.
    public let certificate: String
    /// The signature of `statement`, base64.
    public let signature: String

    enum CodingKeys: String, CodingKey {
        case format, logID = "logId", jurisdiction, offset, chain, time, certificate, signature
    }

    public init(format: String = Self.format, logID: String, jurisdiction: String, offset: UInt64, chain: String, time: Int64,
                certificate: String, signature: String) {
        self.format = format
        self.logID = logID
        self.jurisdiction = jurisdiction
        self.offset = offset
        self.chain = chain
        self.time = time
        self.certificate = certificate
        self.signature = signature
    }

    /// The bytes the signature covers: one `name: value` line each, in this order.
    public static func statement(logID: String, jurisdiction: String, offset: UInt64, chain: String, time: Int64) -> [UInt8] {
        Array("\(format)\nlog-id: \(logID)\njurisdiction: \(jurisdiction)\noffset: \(offset)\nchain: \(chain)\ntime: \(time)\n".utf8)
    }

    /// Signs a head with the key of the certificate in `certificateFile` (which must match it).
    public static func sign(logID: String, jurisdiction: String, offset: UInt64, chain: String, time: Int64,
                            certificateFile: String, privateKeyFile: String) throws -> LogCheckpoint {
        let statement = statement(logID: logID, jurisdiction: jurisdiction, offset: offset, chain: chain, time: time)
        let signed = try StatementSignature.sign(statement, privateKeyFile: privateKeyFile, certificateFile: certificateFile)
        return LogCheckpoint(logID: logID, jurisdiction: jurisdiction, offset: offset, chain: chain, time: time,
                             certificate: signed.certificatePEM, signature: Data(signed.signature).base64EncodedString())
    }

    /// Who signed it, or why the checkpoint does not hold: a signature that does not match its
    /// statement, a certificate the CA files do not vouch for (as of its time), or a signer that is
    /// not the broker of the checkpoint's own jurisdiction.
    public func verify(authorityFiles: [String]) -> Result<PartyIdentity, CheckpointError> {
        guard format == Self.format else { return .failure(CheckpointError("the format is '\(format)', not \(Self.format)")) }
        guard chain.count == 64, chain.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }),
              let signatureBytes = Data(base64Encoded: signature) else {
            return .failure(CheckpointError("the chain hash or the signature is not well formed"))
        }
        let statement = Self.statement(logID: logID, jurisdiction: jurisdiction, offset: offset, chain: chain, time: time)
        switch StatementSignature.verify(statement, signature: Array(signatureBytes), certificatePEM: certificate, authorityFiles: authorityFiles,
                                         at: time / 1000) {
        case .failure(let failure):
            return .failure(CheckpointError(failure.description))
        case .success(let uriNames):
            let broker = PartyIdentity(jurisdiction: jurisdiction, party: PartyIdentity.brokerParty)
            guard uriNames.contains(broker.uri) else {
                return .failure(CheckpointError("it is signed by \(uriNames.isEmpty ? "a certificate without a Muster identity" : uriNames.joined(separator: ", ")), "
                                                + "not by \(broker.uri): only a jurisdiction's own broker speaks for its log"))
            }
            return .success(broker)
        }
    }

    /// Why a checkpoint record a peer's link brought is not stored, or nil: it must be exactly a
    /// checkpoint's JSON (nothing else rides in it), of the log the link reads (`linkLogID`, so of
    /// the peer's own jurisdiction), and hold with the CA configured for the peer (so the peer's
    /// broker signed it).
    public static func importRefusal(_ body: [UInt8], from peer: FederationPeer, linkLogID: String) -> BrokerError? {
        guard let checkpoint = try? JSONDecoder().decode(LogCheckpoint.self, from: Data(body)), checkpoint.json == body else {
            return BrokerError(.schemaViolation, "the checkpoint from \(peer.jurisdiction) is not exactly a checkpoint's JSON (Schemas/log-format.md)")
        }
        guard checkpoint.jurisdiction == peer.jurisdiction, checkpoint.logID == linkLogID else {
            return BrokerError(.notAuthorized, "the broker of \(peer.jurisdiction) sent a checkpoint of log \(checkpoint.logID) (\(checkpoint.jurisdiction)), "
                               + "not of its own log \(linkLogID)")
        }
        if case .failure(let error) = checkpoint.verify(authorityFiles: [peer.authorityPath]) {
            return BrokerError(.identityRefused, "the checkpoint from \(peer.jurisdiction) does not hold with its CA (\(peer.authorityPath)): \(error)")
        }
        return nil
    }

    /// The stored copy of a peer's checkpoint record that `importRefusal` let through: the
    /// link's own headers and the checkpoint's, and nothing else the peer sent.
    public static func importedCopy(_ publication: Publication) -> Publication {
        var copy = publication
        var headers = StompHeaders()
        for (name, value) in publication.headers where FederationHeader.all.contains(name) { headers.append(name, value) }
        if let checkpoint = try? JSONDecoder().decode(LogCheckpoint.self, from: Data(publication.body)) {
            headers[CheckpointHeader.logID] = checkpoint.logID
            headers[CheckpointHeader.head] = "\(checkpoint.offset):\(checkpoint.chain)"
        }
        headers["content-type"] = "application/json;charset=utf-8"
        copy.headers = headers
        return copy
    }

    /// The checkpoint as a JSON object, keys sorted (what `muster log checkpoint` prints and records hold).
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data())
    }
}

public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
