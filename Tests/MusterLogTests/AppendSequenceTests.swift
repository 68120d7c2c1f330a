import Foundation
import Synchronization
import Testing
@testable import MusterLog

/// A sequence of appends none of which is stored past one that failed.
@Suite struct AppendSequenceTests {
    final class Sequence: AppendSequence {
        private let broken = Atomic<Bool>(false)
        var isBroken: Bool { broken.load(ordering: .acquiring) }
        func markBroken() { broken.store(true, ordering: .releasing) }
    }

    private func append(_ log: MessageLog, _ body: String, sequence: Sequence?) -> Result<AppendedRecord, LogError> {
        let outcome = Mutex<Result<AppendedRecord, LogError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        log.append(LogEntry(destination: "/topic/joint.patrol", headers: [], body: Array(body.utf8)), sequence: sequence) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return outcome.withLock { $0! }
    }

    @Test func onceASequenceIsBrokenNoneOfItIsStoredAndOtherRecordsAre() throws {
        let directory = try LogTestDirectory()
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 1 << 20))
        defer { log.close() }
        let sequence = Sequence()
        #expect(try append(log, "patrol 1", sequence: sequence).get().offset == 0)
        sequence.markBroken()
        guard case .failure(.sequenceBroken) = append(log, "patrol 2", sequence: sequence) else {
            Issue.record("a record of a broken sequence was stored")
            return
        }
        #expect(try append(log, "notice", sequence: nil).get().offset == 1, "other records are stored")
        #expect(try append(log, "patrol 3", sequence: Sequence()).get().offset == 2, "a new sequence is stored")
        #expect(try readAll(log.cursor(from: 0)).map { String(decoding: $0.body, as: UTF8.self) } == ["patrol 1", "notice", "patrol 3"])
    }

    @Test func anAppendTheLogRefusesBreaksItsSequence() throws {
        let directory = try LogTestDirectory()
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 1 << 20))
        log.close()
        let sequence = Sequence()
        guard case .failure(.closed) = append(log, "patrol 1", sequence: sequence) else {
            Issue.record("a closed log took a record")
            return
        }
        #expect(sequence.isBroken)
    }
}
