import Dispatch
import Foundation
import MusterFederation
import MusterLog
import MusterProtocol
import Synchronization

/// Where each import link stands, found in this broker's log (its only cursor): the last record
/// taken from the peer, imported or refused, each of which carries its `muster-link` position.
/// A hint file per peer (`DATA/federation/PEER.position`, the local offset of a recent such
/// record) lets start-up read only the log's tail after it; the hint is never trusted alone —
/// without one, or when it does not name such a record, the whole log is read once.
final class ImportPositions: Sendable {
    private let directory: String
    private let log: MessageLog
    private let pending = Mutex<[String: UInt64]>([:])
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
    }

    func find(peer: String) throws(LogError) -> Found {
        let first = log.firstOffset
        if let hint = readHint(peer), hint >= first, hint < log.nextOffset {
            let found = try scan(peer, from: hint)
            if found.startsAtTaken { return Found(position: found.position, recordsRead: found.read, usedHint: true) }
        }
        let found = try scan(peer, from: first)
        return Found(position: found.position, recordsRead: found.read, usedHint: false)
    }

    /// Notes the local offset of a record just taken from `peer`; written to the hint file soon
    /// after (not synced: a stale hint only means reading a little more at start-up).
    func taken(peer: String, localOffset: UInt64) {
        pending.withLock { $0[peer] = localOffset }
        guard !writeScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writer.asyncAfter(deadline: .now() + .milliseconds(500)) { [self] in
            writeScheduled.store(false, ordering: .releasing)
            flush()
        }
    }

    /// Writes what is pending now (at shutdown).
    func flush() {
        let hints = pending.withLock { pending -> [String: UInt64] in defer { pending.removeAll() }; return pending }
        guard !hints.isEmpty else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (peer, offset) in hints {
            try? "\(offset)\n".write(toFile: hintFile(peer), atomically: true, encoding: .utf8)
        }
    }

    private func hintFile(_ peer: String) -> String { "\(directory)/\(peer).position" }

    private func readHint(_ peer: String) -> UInt64? {
        (try? String(contentsOfFile: hintFile(peer), encoding: .utf8)).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private func scan(_ peer: String, from offset: UInt64) throws(LogError) -> (position: ImportLink.Position?, read: Int, startsAtTaken: Bool) {
        let cursor = log.cursor(from: offset)
        var position: ImportLink.Position?
        var read = 0
        var startsAtTaken = false
        while true {
            let records = try cursor.next(maxRecords: 1024, maxBytes: 4 << 20)
            if records.isEmpty { break }
            for record in records {
                read += 1
                guard let taken = Self.takenPosition(record, from: peer) else { continue }
                if record.offset == offset { startsAtTaken = true }
                position = taken
            }
        }
        return (position, read, startsAtTaken)
    }

    /// The peer's position a record of this log carries, if it was taken from `peer`.
    static func takenPosition(_ record: LogRecord, from peer: String) -> ImportLink.Position? {
        guard record.kind == .message, FederationHeader.jurisdictions(record.header(FederationHeader.via)).last == peer,
              let linkText = record.header(FederationHeader.link), let link = FederationHeader.parseOrigin(linkText) else { return nil }
        let hash = record.header(FederationHeader.origin) == linkText ? record.header(FederationHeader.originHash) : nil
        return ImportLink.Position(logID: link.logID, offset: link.offset, hash: hash)
    }
}
