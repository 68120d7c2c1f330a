/// Headers of federation links. The broker writes all of them; a client's SEND may carry none.
public enum FederationHeader {
    /// Stored on a record when it is appended: the peers it is exported to (jurisdictions,
    /// comma-separated). Decided then, so a later change of the rules is never retroactive.
    public static let export = "muster-export"
    /// Stored beside `muster-export`: the peers to which the record goes in the urgent lane (its
    /// type is one of their `urgent-types`), decided then too.
    public static let exportUrgent = "muster-export-urgent"
    /// On a record the urgent lane imported (and on that lane's refusal, gap and link records):
    /// `urgent`. Each lane finds its own position by it.
    public static let lane = "muster-link-lane"
    /// On an exported MESSAGE and on the imported record: `ORIGIN-LOG-ID/OFFSET`, the record's
    /// place in the log where it was first published (its origin key).
    public static let origin = "muster-origin"
    /// The origin record's chain hash (hex): the same origin key with another hash is a fork.
    public static let originHash = "muster-origin-hash"
    /// On an exported MESSAGE and on the imported record: `EXPORTER-LOG-ID/OFFSET`, where the
    /// record sits in the log of the broker it was imported from (the link's position). The same
    /// as `muster-origin` unless the record was relayed.
    public static let link = "muster-link"
    /// On an exported MESSAGE: the exporter's next offset when it sent it, so that the importer
    /// knows how far behind it reads.
    public static let linkHead = "muster-link-head"
    /// On the imported record: when the origin broker stored it (ms since 1970; the record's own
    /// time is when this broker stored it).
    public static let originTime = "muster-origin-time"
    /// On an import refusal record: why this broker refused the peer's record.
    public static let refusal = "muster-import-refusal"
    /// On an import refusal record: `route` when the refusal is of the route the record came by
    /// (relaying not taken from that peer, a loop, no import rule for that peer), so that a copy
    /// arriving by another route may still be taken; absent when the importer's policy refused
    /// the record itself, which then counts as decided for every route.
    public static let refusalScope = "muster-import-refusal-scope"
    /// On an import refusal record: the destination and sender of the refused record.
    public static let refusedDestination = "muster-import-destination"
    public static let refusedSender = "muster-import-sender"
    /// On a gap frame and the gap records of both brokers: `FROM-TO`, offsets of the exporter's
    /// log that retention pruned before the link took them (some may not have been for the peer).
    public static let gap = "muster-gap"
    /// `muster-gap` on a resume frame when nothing but the record the link took was pruned.
    public static let noGap = "none"
    /// On the exporter's gap record: the peer the gap is in the link to.
    public static let gapPeer = "muster-gap-peer"
    /// The evidence of a link coming up or going down, on each side: the peer, `up`, `down` or
    /// (at the exporter, periodically while the link is up) `acknowledged`, the peer's
    /// certificate (`ISSUER-FINGERPRINT/SERIAL`), the offset the stream starts from (up) or the
    /// peer acknowledged through (down, acknowledged), and why it went down.
    public static let linkEventsDestination = Destination(kind: .topic, name: "muster.federation.links")
    public static let linkPeer = "muster-link-peer"
    public static let linkEvent = "muster-link-event"
    public static let linkCertificate = "muster-link-certificate"
    public static let linkOffset = "muster-link-offset"
    /// On a link event record: `export` when the exporter wrote it (its offset is then how far the
    /// peer acknowledged this log), `import` when the importer did (its offset is its position in the peer's log).
    public static let linkSide = "muster-link-side"
    public static let linkReason = "muster-link-reason"
    /// The jurisdictions the record crossed, origin first (comma-separated), on the imported record.
    public static let via = "muster-via"

    public static let all: Set<String> = [export, exportUrgent, lane, origin, originHash, link, originTime, refusal, refusalScope, refusedDestination, refusedSender, gap, gapPeer, via, linkHead,
                                       linkPeer, linkEvent, linkCertificate, linkOffset, linkReason, linkSide]

    /// Where a broker records a peer's record it refused to import (with the record's origin
    /// key, so that the link moves past it, and the reason).
    public static let refusalDestination = Destination(kind: .topic, name: "muster.import.refused")

    /// Where each broker records a gap in a link: the exporter when it finds one, the importer
    /// when it is told (with `muster-link` at the gap's end, so that the link moves past it).
    public static let exportGapDestination = Destination(kind: .topic, name: "muster.export.gaps")
    public static let importGapDestination = Destination(kind: .topic, name: "muster.import.gaps")

    /// Where the broker of `PEER` reads what is exported to it: `/queue/muster.export.PEER`, and
    /// its urgent lane `/queue/muster.export.PEER.urgent`.
    public static let exportDestinationPrefix = "muster.export."
    public static let urgentLaneSuffix = ".urgent"

    /// A link event record (see `linkEventsDestination`).
    public static func linkEvent(_ event: String, peer: String, lane: LinkLane, certificate: String?, offset: UInt64?,
                                 reason: String? = nil, side: String? = nil) -> [(String, String)] {
        var headers = [(linkPeer, peer), (linkEvent, event)]
        if let side { headers.append((linkSide, side)) }
        if lane == .urgent { headers.append((self.lane, lane.rawValue)) }
        if let certificate { headers.append((linkCertificate, certificate)) }
        if let offset { headers.append((linkOffset, String(offset))) }
        if let reason { headers.append((linkReason, reason)) }
        return headers
    }

    /// `muster-origin`'s value.
    public static func originKey(logID: String, offset: UInt64) -> String { "\(logID)/\(offset)" }

    /// Splits a `muster-origin` value; nil when it is not `LOG-ID/OFFSET`.
    public static func parseOrigin(_ text: String) -> (logID: String, offset: UInt64)? {
        guard let slash = text.lastIndex(of: "/"), let offset = UInt64(text[text.index(after: slash)...]) else { return nil }
        let logID = String(text[..<slash])
        return logID.isEmpty ? nil : (logID, offset)
    }

    /// Splits a comma-separated list of jurisdictions (`muster-export`, `muster-via`).
    public static func jurisdictions(_ text: String?) -> [String] {
        guard let text else { return [] }
        return text.split(separator: ",").map(String.init)
    }

    /// Whether a comma-separated list names `jurisdiction`, without building the list (an export
    /// stream asks this of every record it reads).
    public static func list(_ text: String?, names jurisdiction: String) -> Bool {
        guard let text else { return false }
        var rest = Substring(text)
        while !rest.isEmpty {
            let end = rest.firstIndex(of: ",") ?? rest.endIndex
            if rest[..<end] == jurisdiction { return true }
            rest = end == rest.endIndex ? "" : rest[rest.index(after: end)...]
        }
        return false
    }
}

/// The two streams a link carries: urgent records (summonses, report-ins: a peer's
/// `urgent-types`) are never queued behind a backlog of bulk ones. Each lane is its own
/// subscription on its own connection, with its own position in the importer's log; order is
/// kept within a lane, not between them.
public enum LinkLane: String, Sendable, Codable, CaseIterable {
    case bulk
    case urgent
}
