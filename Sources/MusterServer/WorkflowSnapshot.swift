import Foundation
import MusterLog
import MusterNet

/// The workflow state (summonses, hand-offs, joint operations, inbox delivery marks) as of a
/// log offset, so that start-up reads only the records after it instead of the whole history.
/// It is a cache of the log, never evidence: a snapshot that does not check out (torn, of
/// another log, of records this log no longer has as they were) is ignored, and the state is
/// rebuilt from the log. Layout in Schemas/log-format.md, "Workflow snapshot".
struct WorkflowSnapshot: Codable {
    static let version = 1
    static let fileName = "workflow-snapshot.json"

    var version = Self.version
    /// The state took every record before this offset.
    var through: UInt64
    /// The chain hash of the record at `through - 1` (empty when `through` is 0).
    var chain: String
    var state: WorkflowRecovery

    static func path(in dataDirectory: String) -> String { dataDirectory + "/" + fileName }

    /// The file: a first line `{"sha256":HEX,"bytes":N}` and the snapshot's JSON (N bytes) after it.
    func save(in dataDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = try encoder.encode(self)
        let header = "{\"sha256\":\"\(SHA256Digest.hex(of: Array(body)))\",\"bytes\":\(body.count)}\n"
        try DurableFile.replace(Self.path(in: dataDirectory), with: Data(header.utf8) + body)
    }

    /// The snapshot in `dataDirectory` if it checks out against `log`; otherwise why not (nil: there is none).
    static func load(from dataDirectory: String, log: MessageLog) -> Result<WorkflowSnapshot, SnapshotProblem>? {
        guard let data = FileManager.default.contents(atPath: path(in: dataDirectory)) else { return nil }
        guard let newline = data.firstIndex(of: UInt8(ascii: "\n")),
              let header = try? JSONDecoder().decode(Header.self, from: data[..<newline]) else {
            return .failure(SnapshotProblem("its first line is not a snapshot header"))
        }
        let body = Data(data[(newline + 1)...])
        guard body.count == header.bytes, SHA256Digest.hex(of: Array(body)) == header.sha256 else {
            return .failure(SnapshotProblem("it is cut short or damaged (its SHA-256 does not match)"))
        }
        let snapshot: WorkflowSnapshot
        do {
            snapshot = try JSONDecoder().decode(WorkflowSnapshot.self, from: body)
        } catch {
            return .failure(SnapshotProblem("it cannot be read: \(error)"))
        }
        guard snapshot.version == version else { return .failure(SnapshotProblem("it is of version \(snapshot.version), not \(version)")) }
        return snapshot.check(against: log).map { .failure($0) } ?? .success(snapshot)
    }

    /// Why the snapshot does not belong to `log` as it is now, or nil when it does.
    private func check(against log: MessageLog) -> SnapshotProblem? {
        guard through <= log.nextOffset else {
            return SnapshotProblem("it covers the log up to offset \(through), but the log ends at \(log.nextOffset)")
        }
        guard through > 0 else { return nil }
        guard through >= log.firstOffset else {
            return SnapshotProblem("retention deleted records after offset \(through) that it never took (the log starts at \(log.firstOffset))")
        }
        if through == log.firstOffset {
            // Its last record was deleted by retention: the pruned head names it.
            guard let pruned = log.recovery.prunedHead, pruned.offset == through - 1, pruned.chain.hex == chain else {
                return SnapshotProblem("its last record, offset \(through - 1), is gone and the log's pruned head does not name it")
            }
            return nil
        }
        let record: LogRecord?
        do throws(LogError) { record = try log.cursor(from: through - 1).next(maxRecords: 1).first } catch {
            return SnapshotProblem("its last record, offset \(through - 1), cannot be read: \(error)")
        }
        guard let record, record.offset == through - 1, record.chain.hex == chain else {
            return SnapshotProblem("the log's record at offset \(through - 1) is not the one it was made after (another log, or a rewritten one)")
        }
        return nil
    }

    private struct Header: Codable {
        let sha256: String
        let bytes: Int
    }
}

/// Why a workflow snapshot was not used (start-up then rebuilds the state from the whole log).
struct SnapshotProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
