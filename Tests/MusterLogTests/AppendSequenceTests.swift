import Foundation
import Glibc
import Synchronization
import Testing
@testable import MusterLog

/// A sequence of appends none of which is stored past one that failed.
@Suite struct AppendSequenceTests {
    final class Sequence: AppendSequence {
        private let broken = Atomic<Bool>(false)
        var isBroken: Bool { broken.load(ordering: .acquiring) }
        func markBroken() { broken.store(true, ordering: .releasing) }
        let isUrgent: Bool
        init(urgent: Bool = false) { isUrgent = urgent }
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

    /// The descriptor this process has open on `path`.
    private func descriptor(of path: String) -> Int32? {
        let resolved = (path as NSString).resolvingSymlinksInPath
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let fd = Int32(name), let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)") else { continue }
            if (target as NSString).resolvingSymlinksInPath == resolved { return fd }
        }
        return nil
    }

    /// A write that fails (the segment's descriptor swapped for a read-only one) breaks the
    /// sequence: once writes work again, the sequence's next record still fails, others do not.
    @Test func aFailedWriteBreaksTheSequenceEvenOnceTheLogCanWriteAgain() throws {
        let directory = try LogTestDirectory()
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 1 << 20))
        defer { log.close() }
        let sequence = Sequence()
        #expect(try append(log, "patrol 1", sequence: sequence).get().offset == 0)
        let segment = log.catalog.withLock { $0.segments.last!.path }
        let fd = try #require(descriptor(of: segment))
        let saved = dup(fd), readOnly = open("/dev/null", O_RDONLY)
        #expect(dup2(readOnly, fd) == fd)
        guard case .failure = append(log, "patrol 2", sequence: sequence) else {
            Issue.record("a record was stored through a read-only descriptor")
            return
        }
        #expect(sequence.isBroken)
        #expect(dup2(saved, fd) == fd)
        close(saved)
        close(readOnly)
        guard case .failure(.sequenceBroken) = append(log, "patrol 3", sequence: sequence) else {
            Issue.record("a record was stored past a failed one of its sequence")
            return
        }
        #expect(try append(log, "notice", sequence: nil).get().offset == 1)
        #expect(try readAll(log.cursor(from: 0)).map { String(decoding: $0.body, as: UTF8.self) } == ["patrol 1", "notice"])
    }

    /// Urgent appends go before the other queued ones, in their own order.
    @Test func urgentAppendsGoBeforeTheOtherQueuedOnes() throws {
        let directory = try LogTestDirectory()
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 1 << 20))
        defer { log.close() }
        let urgent = Sequence(urgent: true)
        let done = DispatchGroup()
        // Deferred: nothing is written until `commitPending`, so all five are queued together.
        for (body, sequence) in [("notice 1", nil), ("summons 1", urgent), ("notice 2", nil), ("summons 2", urgent), ("notice 3", nil)] as [(String, Sequence?)] {
            done.enter()
            log.append(LogEntry(destination: "/topic/joint.patrol", headers: [], body: Array(body.utf8)), deferred: true, sequence: sequence) { _ in done.leave() }
        }
        log.commitPending()
        done.wait()
        #expect(try readAll(log.cursor(from: 0)).map { String(decoding: $0.body, as: UTF8.self) }
                == ["summons 1", "summons 2", "notice 1", "notice 2", "notice 3"])
    }

    /// After an urgent append, batches are short for a while (the next urgent one waits for few
    /// others); before any, one batch takes everything queued.
    @Test func batchesAreShortWhileUrgentAppendsCome() throws {
        let directory = try LogTestDirectory()
        var options = LogOptions(dataDirectory: directory.path, segmentBytes: 1 << 20)
        options.urgentBatchWindow = .seconds(3600)  // however slow the machine, the batches below fall within it
        let log = try MessageLog.open(options)
        defer { log.close() }
        func commit(_ count: Int, urgent: Bool) -> Int {
            let done = DispatchGroup()
            let before = log.fdatasyncCount
            for index in 0..<count {
                done.enter()
                log.append(LogEntry(destination: "/topic/joint.patrol", headers: [], body: Array("notice \(index)".utf8)), deferred: true,
                           sequence: urgent && index == 0 ? Sequence(urgent: true) : nil) { _ in done.leave() }
            }
            log.commitPending()
            done.wait()
            return log.fdatasyncCount - before
        }
        #expect(commit(200, urgent: false) <= 2, "no urgent append yet: one batch (two if the writer woke on a timer meanwhile)")
        #expect(commit(200, urgent: true) >= 200 / LogWriter.urgentBatchLimit, "batches of at most \(LogWriter.urgentBatchLimit)")
    }
}
