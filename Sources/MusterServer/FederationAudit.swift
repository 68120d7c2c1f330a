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

    /// What must be the same in a record and its copy: sender, body, the headers that cross
    /// (digests), and the time the origin stored it (the copy's `muster-origin-time`).
    struct Content: Equatable {
        let sender: String
        let body: String
        let headers: String
        let time: Int64?

        /// The first part that differs from `other`, named for a finding.
        func difference(from other: Content) -> String? {
            if sender != other.sender { return "sender" }
            if body != other.body { return "body" }
            if headers != other.headers { return "headers" }
            if let time, let otherTime = other.time, time != otherTime { return "origin time" }
            return nil
        }
    }

    /// One log as read for the audit.
    struct Side {
        let identity: LogIdentity
        /// The oldest offset the log still has (retention removes older segments).
        var firstOffset: UInt64 = 0
        /// Every record's chain hash, by offset.
        var chains: [UInt64: ChainHash] = [:]
        /// Each of this log's own records exported to a peer: the peers (and those it went to by the
        /// urgent lane), its sender and the SHA-256 of its body. Relayed imports are not its own.
        var exported: [UInt64: (peers: [String], urgent: [String], content: Content)] = [:]
        /// Copies of other logs' records: origin log id and offset → where it sits here, its origin
        /// hash, sender and body digest; and the origin keys refused here.
        var copies: [String: [UInt64: (offset: UInt64, originHash: String?, content: Content)]] = [:]
        var refusedOrigins: [String: Set<UInt64>] = [:]
        /// Records whose sender is of another jurisdiction but that carry no origin.
        var foreignClaims: [(offset: UInt64, sender: String)] = []
        /// The checkpoints of other jurisdictions' logs stored here (with where).
        var peerCheckpoints: [(offset: UInt64, checkpoint: LogCheckpoint)] = []
        /// Where each of those checkpoints is in its signer's log: a checkpoint signs itself.
        var checkpointOrigins: [String: Set<UInt64>] = [:]
        /// Per peer and lane (`bulk`, `urgent`): the highest offset of this log the peer
        /// acknowledged, from the exporter's own link records.
        var acknowledged: [String: [String: UInt64]] = [:]
        /// Origin keys stored twice (a link stores each once).
        var duplicateCopies: [(origin: String, offsets: (UInt64, UInt64))] = []
    }

    /// Reads both logs (each must verify on its own first) and checks them against each other.
    /// `authorities`: each jurisdiction's CA files; a checkpoint is checked only with its own
    /// jurisdiction's (another's CA cannot vouch for it).
    /// `kept`: checkpoints an auditor kept (`muster log checkpoint`), counted as if a peer held them.
    /// `requireSignatures`: a copy no checkpoint of its origin covers is a finding (its sender
    /// then rests on the importer's word alone), not only a count.
    public static func run(dataDirectories: [String], authorities: [String: [String]], kept: [LogCheckpoint] = [],
                           requireSignatures: Bool = false) throws -> FederationAudit {
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
        return audit(sides, authorities: authorities, kept: kept, requireSignatures: requireSignatures)
    }

    static func audit(_ sides: [Side], authorities: [String: [String]], kept: [LogCheckpoint] = [], requireSignatures: Bool = false) -> FederationAudit {
        var findings: [Finding] = []
        var crossings: [Crossing] = []
        for origin in sides {
            for importer in sides where importer.identity.logID != origin.identity.logID {
                let (crossing, found) = check(from: origin, to: importer, authorityFiles: authorities[origin.identity.jurisdiction] ?? [],
                                              kept: kept, requireSignatures: requireSignatures)
                crossings.append(crossing)
                findings += found
            }
        }
        let jurisdictions = Set(sides.map(\.identity.jurisdiction))
        for side in sides {
            for claim in side.foreignClaims where jurisdictions.contains(String(claim.sender.split(separator: "/").first ?? "")) {
                findings.append(Finding(jurisdiction: side.identity.jurisdiction, offset: claim.offset,
                                        problem: "a record claims the sender \(claim.sender) of another jurisdiction but never crossed a link (no muster-origin): "
                                        + "inserted into this log, unless that party connected to this broker directly"))
            }
            for duplicate in side.duplicateCopies {
                findings.append(Finding(jurisdiction: side.identity.jurisdiction, offset: duplicate.offsets.1,
                                        problem: "a second copy of \(duplicate.origin) (the first is at offset \(duplicate.offsets.0)); a link stores each record once"))
            }
        }
        return FederationAudit(crossings: crossings, findings: findings)
    }

    /// What crossed from `origin` to `importer`. Where a copy and the origin disagree, the
    /// origin's signed checkpoints held by the importer decide: the origin's log is authentic up
    /// to the highest one that holds (with the origin's CA) and matches it, so a disagreement
    /// there is the importer's doing; above it, the origin is taken to have changed.
    private static func check(from origin: Side, to importer: Side, authorityFiles: [String], kept: [LogCheckpoint],
                              requireSignatures: Bool) -> (Crossing, [Finding]) {
        let from = origin.identity.jurisdiction, to = importer.identity.jurisdiction
        var crossing = Crossing(from: from, to: to)
        var findings: [Finding] = []
        let copies = importer.copies[origin.identity.logID] ?? [:]
        let refused = importer.refusedOrigins[origin.identity.logID] ?? []
        crossing.copied = copies.count
        crossing.refused = refused.count

        var signedThrough: UInt64?
        // A kept checkpoint has no place in the importer's log (nil): its findings name none.
        let checkpoints = importer.peerCheckpoints.map { (offset: Optional($0.offset), checkpoint: $0.checkpoint) }
            + kept.map { (offset: UInt64?.none, checkpoint: $0) }
        for held in checkpoints where held.checkpoint.jurisdiction == from {
            if held.offset != nil { crossing.checkpoints += 1 }
            let checkpoint = held.checkpoint
            if authorityFiles.isEmpty {
                findings.append(Finding(jurisdiction: to, offset: held.offset, problem: "no CA file was given for \(from) (--ca \(from)=FILE): the checkpoint of its log held here cannot be checked"))
            } else if case .failure(let error) = checkpoint.verify(authorityFiles: authorityFiles) {
                findings.append(Finding(jurisdiction: to, offset: held.offset, problem: "the checkpoint of \(from)'s log held here does not hold with \(from)'s CA: \(error)"))
            } else if checkpoint.logID != origin.identity.logID {
                findings.append(Finding(jurisdiction: from, offset: nil, problem: "\(to) holds a checkpoint of log \(checkpoint.logID), but this log is "
                                        + "\(origin.identity.logID): the log was replaced"))
            } else if let chain = origin.chains[checkpoint.offset] {
                if chain.hex == checkpoint.chain {
                    signedThrough = max(signedThrough ?? 0, checkpoint.offset)
                } else {
                    findings.append(Finding(jurisdiction: from, offset: checkpoint.offset, problem: "\(to) holds this log's checkpoint, signed by its broker at "
                                            + "\(checkpoint.time), naming chain hash \(checkpoint.chain); the log has \(chain.hex): rewritten at or before this offset"))
                }
            } else if checkpoint.offset >= origin.firstOffset {
                findings.append(Finding(jurisdiction: from, offset: checkpoint.offset, problem: "\(to) holds this log's checkpoint of offset \(checkpoint.offset), "
                                        + "which the log no longer has: records were removed"))
            }
        }
        let authentic = { (offset: UInt64) in signedThrough.map { offset <= $0 } ?? false }

        for (originOffset, copy) in copies.sorted(by: { $0.key < $1.key }) {
            guard let chain = origin.chains[originOffset] else {
                if originOffset < origin.firstOffset { continue }  // removed by the origin's retention, not by a forger
                findings.append(Finding(jurisdiction: from, offset: originOffset, problem: "the record is missing, but \(to) holds a copy of it (at its offset "
                                        + "\(copy.offset)): deleted after it crossed"))
                continue
            }
            if let originHash = copy.originHash, originHash != chain.hex {
                if authentic(originOffset) {
                    findings.append(Finding(jurisdiction: to, offset: copy.offset, problem: "the copy of \(from)'s record \(originOffset) records the chain hash "
                                            + "\(originHash), but \(from)'s log, which its signed checkpoint covers through \(signedThrough ?? 0), has \(chain.hex): the copy was altered"))
                } else {
                    findings.append(Finding(jurisdiction: from, offset: originOffset, problem: "the record's chain hash is \(chain.hex), but \(to)'s copy (at its "
                                            + "offset \(copy.offset)) was taken with \(originHash): this log was changed at or before this offset after the record crossed"))
                }
                continue
            }
            guard let exported = origin.exported[originOffset], exported.peers.contains(to) else {
                findings.append(Finding(jurisdiction: to, offset: copy.offset, problem: "the record claims to be \(from)'s record \(originOffset), which \(from) never "
                                        + "exported to \(to): inserted into this log"))
                continue
            }
            if let difference = copy.content.difference(from: exported.content) {
                findings.append(Finding(jurisdiction: to, offset: copy.offset, problem: "the copy of \(from)'s record \(originOffset) differs from it "
                                        + "(\(difference)): edited after it was imported"))
            }
        }

        let acknowledged = origin.acknowledged[to] ?? [:]
        crossing.acknowledgedThrough = acknowledged[LinkLane.bulk.rawValue] ?? acknowledged.values.max()
        // Where the origin's own log was found changed, its later offsets no longer say what the
        // importer should hold (a rewrite moves them): only records before it are looked for.
        let originChanged = findings.filter { $0.jurisdiction == from }.compactMap(\.offset).min() ?? .max
        // What the importer's retention removed is not missing: records older than its oldest remaining copy are not looked for.
        let importerKeepsFrom = importer.firstOffset == 0 ? 0 : (copies.keys.min() ?? 0)
        for (offset, exported) in origin.exported.sorted(by: { $0.key < $1.key })
        where offset < originChanged && offset >= importerKeepsFrom && exported.peers.contains(to) && copies[offset] == nil && !refused.contains(offset) {
            let lane = exported.urgent.contains(to) ? LinkLane.urgent.rawValue : LinkLane.bulk.rawValue
            guard let through = acknowledged[lane], offset <= through else { continue }
            findings.append(Finding(jurisdiction: to, offset: nil, problem: "\(from)'s record \(offset), exported to \(to) and acknowledged by it (\(lane) lane, "
                                    + "through \(through)), is neither stored nor refused in this log: deleted after it was imported"))
        }
        // A checkpoint's copy is its signer's own signed statement (checked above).
        let selfSigned = importer.checkpointOrigins[origin.identity.logID] ?? []
        crossing.coveredBySignature = copies.keys.filter { authentic($0) || selfSigned.contains($0) }.count
        let unsigned = copies.keys.filter { !authentic($0) && !selfSigned.contains($0) }.sorted()
        if requireSignatures, let first = unsigned.first, let last = unsigned.last {
            findings.append(Finding(jurisdiction: to, offset: nil, problem: "\(unsigned.count) of the records stored from \(from) (its offsets \(first)…\(last)) "
                                    + "are covered by no checkpoint signed by \(from)'s broker (held here through \(signedThrough.map(String.init) ?? "none")): "
                                    + "who sent them rests on this log alone; ask \(from)'s broker for one (muster log checkpoint --ask) and verify with it (--checkpoint FILE)"))
        }
        return (crossing, findings)
    }
}

extension FederationAudit.Side {
    /// Headers that do not cross as they are: the link's own, the sender's (compared apart), and
    /// those the importer writes for a checkpoint's copy.
    static let notCompared: Set<String> = FederationHeader.all.union(CheckpointHeader.all).union([WorkflowHeader.receivedAt])
        .union([ReservedHeader.sender, ReservedHeader.senderJurisdiction, "content-length", "content-type"])

    static func content(_ record: LogRecord, sender: String, time: Int64?) -> FederationAudit.Content {
        let headers = record.headers.filter { !notCompared.contains($0.name) }.map { "\($0.name):\($0.value)\n" }.sorted().joined()
        return FederationAudit.Content(sender: sender, body: SHA256Digest.hex(of: record.body), headers: SHA256Digest.hex(of: Array(headers.utf8)), time: time)
    }

    mutating func take(_ record: LogRecord) {
        chains[record.offset] = record.chain
        guard record.kind == .message else { return }
        let jurisdiction = identity.jurisdiction
        let sender = "\(record.header(ReservedHeader.senderJurisdiction) ?? jurisdiction)/\(record.header(ReservedHeader.sender) ?? "")"
        if let peers = record.header(FederationHeader.export), record.header(FederationHeader.origin) == nil {
            exported[record.offset] = (FederationHeader.jurisdictions(peers), FederationHeader.jurisdictions(record.header(FederationHeader.exportUrgent)),
                                       Self.content(record, sender: sender, time: record.timestamp))
        }
        if let originText = record.header(FederationHeader.origin), let origin = FederationHeader.parseOrigin(originText) {
            if record.destination == FederationHeader.refusalDestination.description {
                refusedOrigins[origin.logID, default: []].insert(origin.offset)
            } else {
                if let earlier = copies[origin.logID]?[origin.offset] { duplicateCopies.append((originText, (earlier.offset, record.offset))) }
                copies[origin.logID, default: [:]][origin.offset] = (record.offset, record.header(FederationHeader.originHash),
                                                                     Self.content(record, sender: sender, time: record.header(FederationHeader.originTime).flatMap { Int64($0) }))
                if record.destination == CheckpointHeader.destination.description,
                   let checkpoint = try? JSONDecoder().decode(LogCheckpoint.self, from: Data(record.body)) {
                    peerCheckpoints.append((record.offset, checkpoint))
                    checkpointOrigins[origin.logID, default: []].insert(origin.offset)
                }
            }
        } else if !sender.hasPrefix("\(jurisdiction)/") {
            foreignClaims.append((record.offset, sender))
        }
        // The exporter's link records: how far the peer acknowledged, per lane (while up, and when
        // the link went down). The importer's own records (its position in the peer's log) do not count;
        // before records said their side, the exporter's "down" was the one without a reason.
        if record.destination == FederationHeader.linkEventsDestination.description,
           let event = record.header(FederationHeader.linkEvent), event == "acknowledged" || event == "down",
           record.header(FederationHeader.linkSide) == "export" || (record.header(FederationHeader.linkSide) == nil
                                                                   && (event == "acknowledged" || record.header(FederationHeader.linkReason) == nil)),
           let peer = record.header(FederationHeader.linkPeer), let offset = record.header(FederationHeader.linkOffset).flatMap({ UInt64($0) }) {
            let lane = record.header(FederationHeader.lane) ?? LinkLane.bulk.rawValue
            acknowledged[peer, default: [:]][lane] = max(acknowledged[peer]?[lane] ?? 0, offset)
        }
    }
}
