import Foundation
import Synchronization
import Testing
@testable import MusterLog

@Suite struct ConcurrentAppendTests {
    @Test func manyThreadsAppendingCompleteInOffsetOrderAndAllReadBack() throws {
        let threads = 8, perThread = 200, total = threads * perThread
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path, segmentBytes: 16_384))
        // Completions in the order they arrive, with what each thread asked for.
        let completions = Mutex<[(offset: UInt64, thread: Int, index: Int)]>([])
        let failures = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread {
                let entry = LogEntry(destination: "/queue/worker.\(thread)", headers: [LogHeader("index", "\(index)")],
                                     body: Array("thread \(thread) message \(index)".utf8))
                log.append(entry) { result in
                    switch result {
                    case .success(let record): completions.withLock { $0.append((record.offset, thread, index)) }
                    case .failure(let error): failures.withLock { $0.append("\(error)") }
                    }
                    done.signal()
                }
            }
        }
        for _ in 0..<total {
            guard done.wait(timeout: .now() + 30) == .success else {
                Issue.record("not every append completed")
                break
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let arrived = completions.withLock { $0 }
        #expect(arrived.map(\.offset) == Array(0..<UInt64(total)), "completions arrive in strictly increasing offset order")

        let records = try readAll(log.cursor(from: 0))
        #expect(records.count == total)
        var byThread = [[Int]](repeating: [], count: threads)
        for (record, completion) in zip(records, arrived) {
            #expect(record.offset == completion.offset)
            #expect(record.destination == "/queue/worker.\(completion.thread)")
            #expect(record.header("index") == "\(completion.index)")
            #expect(record.body == Array("thread \(completion.thread) message \(completion.index)".utf8))
            byThread[completion.thread].append(completion.index)
        }
        // Each thread's appends keep the order it made them in.
        #expect(byThread.allSatisfy { $0 == Array(0..<perThread) })
        #expect(log.catalog.withLock { $0.segments.count } > 1)
        log.close()
        #expect(try LogArchive(dataDirectory: directory.path).verify().records == total)
    }
}
