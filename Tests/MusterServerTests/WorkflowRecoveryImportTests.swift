import Foundation
import MusterLog
import MusterProtocol
@testable import MusterServer
import Synchronization
import Testing

/// A restart (or an auditor's `--data`) replays only the imported workflow records the live
/// workflows took, which they marked `muster-workflow-received`; a record an import rule brought
/// for a case only its origin follows was stored as that broker decided it, and is not run.
@Suite struct WorkflowRecoveryImportTests {
    private static func notice(received: Bool) -> LogEntry {
        var headers = [LogHeader(ReservedHeader.type, "joint-operation"), LogHeader(WorkflowHeader.id, "jinshan.op-1"),
                       LogHeader(WorkflowHeader.time, "1000"), LogHeader(ReservedHeader.sender, "langxia-town"),
                       LogHeader(ReservedHeader.senderJurisdiction, "jinshan"), LogHeader(FederationHeader.via, "jinshan")]
        if received { headers.append(LogHeader(WorkflowHeader.receivedAt, "1200")) }
        let open = #"{"action": "open", "title": "Night patrol"}"#
        return LogEntry(destination: "/topic/joint.new", headers: headers + [LogHeader(WorkflowHeader.members, "jinshan/langxia-town,pinghu/guangchen-town")],
                        body: Array(open.utf8))
    }

    private static func replay(_ entries: [LogEntry]) throws -> WorkflowRecovery {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-wfimport-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory, segmentBytes: 1 << 20))
        defer { log.close() }
        for entry in entries {
            let done = DispatchSemaphore(value: 0)
            let failure = Mutex<LogError?>(nil)
            log.append(entry) { result in
                if case .failure(let error) = result { failure.withLock { $0 = error } }
                done.signal()
            }
            done.wait()
            if let error = failure.withLock({ $0 }) { throw error }
        }
        return try WorkflowRecovery.read(log)
    }

    @Test func onlyTheImportedRecordsTheWorkflowsTookAreReplayed() throws {
        let unmarked = try Self.replay([Self.notice(received: false)])
        #expect(unmarked.book.operations.isEmpty && unmarked.book.latestTimeFrom.isEmpty, "stored as its origin decided it, not run")
        let taken = try Self.replay([Self.notice(received: true)])
        #expect(taken.book.operations["jinshan.op-1"]?.owner == "jinshan", "taken live, so replayed")
        #expect(taken.book.latestTimeFrom == ["jinshan": 1000])
    }
}
