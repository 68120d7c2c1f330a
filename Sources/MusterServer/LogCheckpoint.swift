import Foundation
public import MusterFederation
public import MusterLog
public import MusterBroker

/// A checkpoint of a log on disk: signed from a verified copy, and matched to a data directory.
extension LogCheckpoint {
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
        return try sign(logID: identity.logID, jurisdiction: identity.jurisdiction, offset: head.offset, chain: head.chain.hex, time: now,
                        certificateFile: certificateFile, privateKeyFile: privateKeyFile)
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
