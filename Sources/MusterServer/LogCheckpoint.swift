import Foundation
public import MusterLog
import MusterNet
public import MusterProtocol
public import MusterBroker

/// A broker's signed statement of its log's state: which log (id and jurisdiction), its head
/// (offset and chain hash) and when. Signed with the broker's own key (its certificate,
/// `muster://JURISDICTION/broker`, comes with it), so that an auditor who keeps it can later
/// prove, with only the jurisdiction's CA, that the log was rewritten at or before that offset.
/// The signed bytes and the JSON form are in Schemas/log-format.md ("Signed checkpoints").
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

    /// The bytes the signature covers: one `name: value` line each, in this order.
    public static func statement(logID: String, jurisdiction: String, head: LogHead, time: Int64) -> [UInt8] {
        Array("\(format)\nlog-id: \(logID)\njurisdiction: \(jurisdiction)\noffset: \(head.offset)\nchain: \(head.chain.hex)\ntime: \(time)\n".utf8)
    }

    public var head: LogHead? { LogHead("\(offset):\(chain)") }

    /// Signs the state of the log in `dataDirectory` as it is now: every record is verified
    /// first (a broken log is not signed), then its head is signed with the broker's key.
    public static func sign(dataDirectory: String, certificateFile: String, privateKeyFile: String,
                            now: Int64 = WallClock.milliseconds()) throws -> LogCheckpoint {
        guard let identity = LogIdentity.read(dataDirectory: dataDirectory) else {
            throw CheckpointError("\(dataDirectory) has no log identity (log-identity.json): start the broker once on it first")
        }
        guard let head = try LogArchive(dataDirectory: dataDirectory).verify().head else {
            throw CheckpointError("the log in \(dataDirectory) is empty: there is nothing to sign")
        }
        let statement = statement(logID: identity.logID, jurisdiction: identity.jurisdiction, head: head, time: now)
        let signed = try StatementSignature.sign(statement, privateKeyFile: privateKeyFile, certificateFile: certificateFile)
        return LogCheckpoint(format: format, logID: identity.logID, jurisdiction: identity.jurisdiction, offset: head.offset, chain: head.chain.hex,
                             time: now, certificate: signed.certificatePEM, signature: Data(signed.signature).base64EncodedString())
    }

    /// Who signed it, or why the checkpoint does not hold: a signature that does not match its
    /// statement, a certificate the CA files do not vouch for (as of its time), or a signer that is
    /// not the broker of the checkpoint's own jurisdiction.
    public func verify(authorityFiles: [String]) -> Result<PartyIdentity, CheckpointError> {
        guard format == Self.format else { return .failure(CheckpointError("the format is '\(format)', not \(Self.format)")) }
        guard let head, let signatureBytes = Data(base64Encoded: signature) else {
            return .failure(CheckpointError("the chain hash or the signature is not well formed"))
        }
        let statement = Self.statement(logID: logID, jurisdiction: jurisdiction, head: head, time: time)
        switch StatementSignature.verify(statement, signature: Array(signatureBytes), certificatePEM: certificate, authorityFiles: authorityFiles,
                                         at: time / 1000) {
        case .failure(let failure):
            return .failure(CheckpointError(failure.description))
        case .success(let uriNames):
            let broker = PartyIdentity(jurisdiction: jurisdiction, party: PartyIdentity.brokerParty)
            guard uriNames.contains(broker.uri) else {
                return .failure(CheckpointError("it is signed by \(uriNames.joined(separator: ", ")), not by \(broker.uri): only a jurisdiction's "
                                                + "own broker speaks for its log"))
            }
            return .success(broker)
        }
    }

    /// Checks that the log in `dataDirectory` is the one this checkpoint names (its chain is
    /// checked by verifying the log with the checkpoint's head expected: `LogArchive.verify`).
    public func checkIdentity(of dataDirectory: String) throws {
        guard let identity = LogIdentity.read(dataDirectory: dataDirectory) else {
            throw CheckpointError("\(dataDirectory) has no log identity (log-identity.json)")
        }
        guard identity.logID == logID, identity.jurisdiction == jurisdiction else {
            throw CheckpointError("the checkpoint is of log \(logID) (\(jurisdiction)); \(dataDirectory) holds log \(identity.logID) (\(identity.jurisdiction))")
        }
    }
}

public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
