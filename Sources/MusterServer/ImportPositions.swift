import Dispatch
import Foundation
import MusterFederation
import MusterLog
import MusterProtocol
import Synchronization

/// Where each import link stands, found in this broker's log (its only cursor): the last record
/// its lane took from the peer, imported or refused, each of which carries its `muster-link`
/// position (and `muster-link-lane: urgent` if the urgent lane took it). A hint file per link
/// (`DATA/federation/PEER.position`, `PEER.urgent.position`: the local offset of a recent such
/// record) lets start-up read only the log's tail after it; the hint is never trusted alone —
/// without one, or when it does not name such a record, the whole log is read once.
final class ImportPositions: Sendable {
    private let directory: String
    private let log: MessageLog
    private let pending = Mutex<[Link: (localOffset: UInt64, position: ImportLink.Position)]>([:])
    private let writer = DispatchQueue(label: "muster-import-positions")
    private let writeScheduled = Atomic<Bool>(false)

    init(dataDirectory: String, log: MessageLog) {
        directory = dataDirectory + "/federation"
        self.log = log
    }

    struct Found {
        let position: ImportLink.Position?
        let recordsRead: Int
        let usedHint: Bool
        /// Set when the log was pruned and no position is left of a link it may have had: the
        /// link starts from the peer's first record (a new link does too), which is said aloud.
        var warning: String?
    }

    /// One import link: a peer and a lane.
    struct Link: Hashable, Sendable {
        let peer: String
        let lane: LinkLane
    }

    func find(_ link: Link) throws(LogError) -> Found {
        let first = log.firstOffset
        let hint = readHint(link)
        if let hint, hint.localOffset >= first, hint.localOffset < log.nextOffset {
            let found = try scan(link, from: hint.localOffset)
            if found.startsAtTaken { return Found(position: found.position, recordsRead: found.read, usedHint: true) }
        }
        let found = try scan(link, from: first)
        if found.position != nil || first == 0 { return Found(position: found.position, recordsRead: found.read, usedHint: false) }
        // Retention pruned every record taken from the peer: the hint still says where the link stood.
        if let position = hint?.position { return Found(position: position, recordsRead: found.read, usedHint: true) }
        // A new peer on a pruned log looks the same as a link whose every trace was pruned with its
        // hint file lost: halting would keep every new peer out, so the link starts from the first.
        return Found(position: nil, recordsRead: found.read, usedHint: false,
                     warning: "no record taken from \(link.peer) by its \(link.lane.rawValue) lane is left in the log (records before offset "
                        + "\(first) were pruned) and \(hintFile(link)) is missing: the link starts from \(link.peer)'s first record; if it took "
                        + "records before, those the peer still keeps are imported again")
    }

    /// Notes a record just taken by `link` (its local offset and the peer's position); written
    /// to the hint file soon after (not synced: a stale hint only means reading a little more).
    func taken(_ link: Link, localOffset: UInt64, position: ImportLink.Position) {
        pending.withLock { $0[link] = (localOffset, position) }
        guard !writeScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writer.asyncAfter(deadline: .now() + .milliseconds(500)) { [self] in
            writeScheduled.store(false, ordering: .releasing)
            flush()
        }
    }

    /// Writes what is pending now (at shutdown).
    func flush() {
        let hints = pending.withLock { pending in defer { pending.removeAll() }; return pending }
        guard !hints.isEmpty else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // LOCAL-OFFSET PEER-LOG-ID PEER-OFFSET [HASH]
        for (link, hint) in hints {
            let line = "\(hint.localOffset) \(hint.position.logID) \(hint.position.offset)" + (hint.position.hash.map { " \($0)" } ?? "")
            try? (line + "\n").write(toFile: hintFile(link), atomically: true, encoding: .utf8)
        }
    }

    private func hintFile(_ link: Link) -> String {
        "\(directory)/\(link.peer)" + (link.lane == .urgent ? ".urgent" : "") + ".position"
    }

    private func readHint(_ link: Link) -> (localOffset: UInt64, position: ImportLink.Position?)? {
        guard let text = try? String(contentsOfFile: hintFile(link), encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let local = fields.first.flatMap({ UInt64($0) }) else { return nil }
        guard fields.count >= 3, let offset = UInt64(fields[2]) else { return (local, nil) }
        return (local, ImportLink.Position(logID: fields[1], offset: offset, hash: fields.count > 3 ? fields[3] : nil))
    }

    private func scan(_ link: Link, from offset: UInt64) throws(LogError) -> (position: ImportLink.Position?, read: Int, startsAtTaken: Bool) {
        let cursor = log.cursor(from: offset)
        var position: ImportLink.Position?
        var read = 0
        var startsAtTaken = false
        while true {
            let records = try cursor.next(maxRecords: 1024, maxBytes: 4 << 20)
            if records.isEmpty { break }
            for record in records {
                read += 1
                guard let taken = Self.takenPosition(record, by: link) else { continue }
                if record.offset == offset { startsAtTaken = true }
                // The furthest the link got in the peer's current log (a link never stores past a
                // record it failed to store, so every record before it was taken too).
                if let known = position, known.logID == taken.logID, known.offset > taken.offset { continue }
                position = taken
            }
        }
        return (position, read, startsAtTaken)
    }

    /// The peer's position a record of this log carries, if `link` took it.
    static func takenPosition(_ record: LogRecord, by link: Link) -> ImportLink.Position? {
        guard record.kind == .message, FederationHeader.jurisdictions(record.header(FederationHeader.via)).last == link.peer,
              (record.header(FederationHeader.lane) == LinkLane.urgent.rawValue) == (link.lane == .urgent),
              let linkText = record.header(FederationHeader.link), let link = FederationHeader.parseOrigin(linkText) else { return nil }
        let hash = record.header(FederationHeader.origin) == linkText ? record.header(FederationHeader.originHash) : nil
        return ImportLink.Position(logID: link.logID, offset: link.offset, hash: hash)
    }
}
