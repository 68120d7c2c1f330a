import Foundation
public import MusterFederation
import MusterLog
import MusterNet
import MusterProtocol

/// What an auditor who trusts neither broker checks with copies of two linked brokers' logs
/// (`muster federation verify`): every record that crossed from one to the other is in place on
/// both sides, unchanged, and was acknowledged by the importer; no record claims a sender of the
/// other jurisdiction without having crossed; and the checkpoints each log holds of the other's
/// (signed by the other's broker, checked with the CA files given) still match the other's log.
public struct FederationAudit: Sendable {
    /// Something that does not hold, located: the jurisdiction whose log is at fault (as far as
    /// the evidence shows), the offset in that log, and what is wrong.
    public struct Finding: Sendable, CustomStringConvertible, Equatable {
        public let jurisdiction: String
        public let offset: UInt64?
        public let problem: String
        public var description: String { "\(jurisdiction)\(offset.map { " offset \($0)" } ?? ""): \(problem)" }
    }

    /// One direction of a link, as the two logs show it.
    public struct Crossing: Sendable, Equatable {
        public let from: String
        public let to: String
        /// Records of `from` stored in `to`'s log (and refused there, recorded as such).
        public var copied = 0
        public var refused = 0
        /// The highest offset of `from`'s log that `to` acknowledged (`from`'s link records).
        public var acknowledgedThrough: UInt64?
        /// `from`'s checkpoints held in `to`'s log, each checked against `from`'s log.
        public var checkpoints = 0
        /// Copies whose origin record lies at or below a checkpoint that holds: a signature of the
        /// origin's broker covers them (its chain runs through them to the signed head).
        public var coveredBySignature = 0
    }

    public let crossings: [Crossing]
    public let findings: [Finding]

    /// One log as read for the audit.
    struct Side {
        let identity: LogIdentity
        /// The oldest offset the log still has (retention removes older segments).
        var firstOffset: UInt64 = 0
        /// Every record's chain hash, by offset.
        var chains: [UInt64: ChainHash] = [:]
        /// Each record exported to a peer: the peer, its sender and the SHA-256 of its body.
        var exported: [UInt64: (peers: [String], sender: String, body: String)] = [:]
        /// Copies of other logs' records: origin log id and offset → where it sits here, its origin
        /// hash, sender and body digest; and the origin keys refused here.
        var copies: [String: [UInt64: (offset: UInt64, originHash: String?, sender: String, body: String)]] = [:]
        var refusedOrigins: [String: Set<UInt64>] = [:]
        /// Records whose sender is of another jurisdiction but that carry no origin.
        var foreignClaims: [(offset: UInt64, sender: String)] = []
        /// The checkpoints of other jurisdictions' logs stored here (with where).
        var peerCheckpoints: [(offset: UInt64, checkpoint: LogCheckpoint)] = []
        /// Per peer: the highest offset of this log the peer acknowledged.
        var acknowledged: [String: UInt64] = [:]
    }

    /// Reads both logs (each must verify on its own first) and checks them against each other.
    public static func run(dataDirectories: [String], authorityFiles: [String]) throws -> FederationAudit {
        var sides: [Side] = []
        for directory in dataDirectories {
            guard let identity = LogIdentity.read(dataDirectory: directory) else {
                throw CheckpointError("\(directory) has no log identity (log-identity.json): is it a broker's data directory?")
            }
            let archive = LogArchive(dataDirectory: directory)
            let verification: LogVerification
            do { verification = try archive.verify() } catch {
                throw CheckpointError("the log of \(identity.jurisdiction) in \(directory) does not verify on its own: \(error)")
            }
            var side = Side(identity: identity, firstOffset: verification.firstOffset)
            try archive.forEach { record in
                side.take(record)
                return true
            }
            sides.append(side)
        }
        return audit(sides, authorityFiles: authorityFiles)
    }

    static func audit(_ sides: [Side], authorityFiles: [String]) -> FederationAudit {
        var findings: [Finding] = []
        var crossings: [Crossing] = []
        for origin in sides {
            for importer in sides where importer.identity.logID != origin.identity.logID {
                let (crossing, found) = check(from: origin, to: importer, authorityFiles: authorityFiles)
                crossings.append(crossing)
                findings += found
            }
        }
        let jurisdictions = Set(sides.map(\.identity.jurisdiction))
        for side in sides {
            for claim in side.foreignClaims where jurisdictions.contains(String(claim.sender.split(separator: "/").first ?? "")) {
                findings.append(Finding(jurisdiction: side.identity.jurisdiction, offset: claim.offset,
                                        problem: "a record claims the sender \(claim.sender) of another jurisdiction but never crossed a link (no muster-origin): "
                                        + "inserted into this log"))
            }
        }
        return FederationAudit(crossings: crossings, findings: findings)
    }

    /// What crossed from `origin` to `importer`.
    private static func check(from origin: Side, to importer: Side, authorityFiles: [String]) -> (Crossing, [Finding]) {
        let from = origin.identity.jurisdiction, to = importer.identity.jurisdiction
        var crossing = Crossing(from: from, to: to)
        var findings: [Finding] = []
        let copies = importer.copies[origin.identity.logID] ?? [:]
        let refused = importer.refusedOrigins[origin.identity.logID] ?? []
        crossing.copied = copies.count
        crossing.refused = refused.count
        for (originOffset, copy) in copies.sorted(by: { $0.key < $1.key }) {
            guard let chain = origin.chains[originOffset] else {
                if originOffset < origin.firstOffset { continue }  // removed by the origin's retention, not by a forger
                findings.append(Finding(jurisdiction: from, offset: originOffset, problem: "the record is missing, but \(to) holds a copy of it (at its offset "
                                        + "\(copy.offset)): deleted after it crossed"))
                continue
            }
            if let originHash = copy.originHash, originHash != chain.hex {
                findings.append(Finding(jurisdiction: from, offset: originOffset, problem: "the record's chain hash is \(chain.hex), but \(to)'s copy (at its "
                                        + "offset \(copy.offset)) was taken with \(originHash): this log was changed at or before this offset after the record crossed"))
                continue
            }
            guard let exported = origin.exported[originOffset], exported.peers.contains(to) else {
                findings.append(Finding(jurisdiction: to, offset: copy.offset, problem: "the record claims to be \(from)'s record \(originOffset), which \(from) never "
                                        + "exported to \(to): inserted into this log"))
                continue
            }
            if exported.sender != copy.sender || exported.body != copy.body {
                findings.append(Finding(jurisdiction: to, offset: copy.offset, problem: "the copy of \(from)'s record \(originOffset) differs from it "
                                        + "(\(exported.sender != copy.sender ? "sender" : "body")): edited after it was imported"))
            }
        }
        let acknowledged = origin.acknowledged[to]
        crossing.acknowledgedThrough = acknowledged
        // Where the origin's own log was found changed, its later offsets no longer say what the
        // importer should hold (a rewrite moves them): only records before it are looked for.
        let originChanged = findings.filter { $0.jurisdiction == from }.compactMap(\.offset).min() ?? .max
        if let acknowledged {
            for (offset, exported) in origin.exported.sorted(by: { $0.key < $1.key })
            where offset <= acknowledged && offset < originChanged && exported.peers.contains(to) && copies[offset] == nil && !refused.contains(offset) {
                findings.append(Finding(jurisdiction: to, offset: nil, problem: "\(from)'s record \(offset), exported to \(to) and acknowledged by it (through "
                                        + "\(acknowledged)), is neither stored nor refused in this log: deleted after it was imported"))
            }
        }
        var signedThrough: UInt64?
        for held in importer.peerCheckpoints where held.checkpoint.jurisdiction == from {
            crossing.checkpoints += 1
            let checkpoint = held.checkpoint
            if case .success = checkpoint.verify(authorityFiles: authorityFiles), checkpoint.logID == origin.identity.logID,
               origin.chains[checkpoint.offset]?.hex == checkpoint.chain {
                signedThrough = max(signedThrough ?? 0, checkpoint.offset)
            }
            if case .failure(let error) = checkpoint.verify(authorityFiles: authorityFiles) {
                findings.append(Finding(jurisdiction: to, offset: held.offset, problem: "the checkpoint of \(from)'s log held here does not hold: \(error)"))
            } else if checkpoint.logID != origin.identity.logID {
                findings.append(Finding(jurisdiction: from, offset: nil, problem: "\(to) holds a checkpoint of log \(checkpoint.logID), but this log is "
                                        + "\(origin.identity.logID): the log was replaced"))
            } else if let chain = origin.chains[checkpoint.offset], chain.hex != checkpoint.chain {
                findings.append(Finding(jurisdiction: from, offset: checkpoint.offset, problem: "\(to) holds this log's checkpoint, signed by its broker at "
                                        + "\(checkpoint.time), naming chain hash \(checkpoint.chain); the log has \(chain.hex): rewritten at or before this offset"))
            } else if origin.chains[checkpoint.offset] == nil, checkpoint.offset >= origin.firstOffset {
                findings.append(Finding(jurisdiction: from, offset: checkpoint.offset, problem: "\(to) holds this log's checkpoint of offset \(checkpoint.offset), "
                                        + "which the log no longer has: records were removed"))
            }
        }
        if let signedThrough { crossing.coveredBySignature = copies.keys.filter { $0 <= signedThrough }.count }
        return (crossing, findings)
    }
}

extension FederationAudit.Side {
    mutating func take(_ record: LogRecord) {
        chains[record.offset] = record.chain
        guard record.kind == .message else { return }
        let jurisdiction = identity.jurisdiction
        let sender = "\(record.header(ReservedHeader.senderJurisdiction) ?? jurisdiction)/\(record.header(ReservedHeader.sender) ?? "")"
        if let peers = record.header(FederationHeader.export) {
            exported[record.offset] = (FederationHeader.jurisdictions(peers), sender, SHA256Digest.hex(of: record.body))
        }
        if let originText = record.header(FederationHeader.origin), let origin = FederationHeader.parseOrigin(originText) {
            if record.destination == FederationHeader.refusalDestination.description {
                refusedOrigins[origin.logID, default: []].insert(origin.offset)
            } else {
                copies[origin.logID, default: [:]][origin.offset] = (record.offset, record.header(FederationHeader.originHash), sender, SHA256Digest.hex(of: record.body))
                if record.destination == CheckpointHeader.destination.description,
                   let checkpoint = try? JSONDecoder().decode(LogCheckpoint.self, from: Data(record.body)) {
                    peerCheckpoints.append((record.offset, checkpoint))
                }
            }
        } else if !sender.hasPrefix("\(jurisdiction)/") {
            foreignClaims.append((record.offset, sender))
        }
        // The exporter's link records: how far the peer acknowledged (while up, and when the link went down).
        if record.destination == FederationHeader.linkEventsDestination.description,
           ["acknowledged", "down"].contains(record.header(FederationHeader.linkEvent) ?? ""),
           let peer = record.header(FederationHeader.linkPeer), let offset = record.header(FederationHeader.linkOffset).flatMap({ UInt64($0) }) {
            acknowledged[peer] = max(acknowledged[peer] ?? 0, offset)
        }
    }
}
