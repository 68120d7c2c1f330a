import Foundation
import Glibc
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterNet

// The event loop's hand-over from other threads, and TLSChannel.write from other threads.

@Suite("Event loop", .timeLimit(.minutes(2)))
struct EventLoopTests {
    /// One task's record of where and when it ran.
    private struct Run: Sendable {
        let producer: Int
        let sequence: Int
        let onLoop: Bool
        let thread: pthread_t
    }

    @Test("execute() from several threads runs every task on the loop thread, each thread's in order")
    func executeFromOtherThreadsRunsOnLoopThreadInOrder() async throws {
        let loop = try EventLoop(name: "execute-test-loop")
        loop.start()
        defer { loop.stop() }
        #expect(!loop.inLoop, "the test thread is not the loop thread")

        let producers = 4
        let tasksEach = 2_000
        let runs = Mutex<[Run]>([])
        for producer in 0..<producers {
            Thread.detachNewThread {
                for sequence in 0..<tasksEach {
                    loop.execute {
                        let run = Run(producer: producer, sequence: sequence, onLoop: loop.inLoop, thread: pthread_self())
                        runs.withLock { $0.append(run) }
                    }
                }
            }
        }
        try await eventually("\(producers * tasksEach) tasks ran") { runs.withLock { $0.count } == producers * tasksEach }

        let all = runs.withLock { $0 }
        #expect(all.count == producers * tasksEach)
        let offLoop = all.filter { !$0.onLoop }.count
        #expect(offLoop == 0, "tasks ran off the loop thread")
        #expect(Set(all.map { UInt($0.thread) }).count == 1, "tasks ran on more than one thread")
        for producer in 0..<producers {
            let order = all.filter { $0.producer == producer }.map(\.sequence)
            #expect(order == Array(0..<tasksEach), "producer \(producer)'s tasks ran out of order")
        }
    }

    @Test("A task queued from a loop task runs after it, not inside it")
    func taskQueuedFromTheLoopRunsAfterTheCurrentOne() async throws {
        let loop = try EventLoop(name: "nested-execute-loop")
        loop.start()
        defer { loop.stop() }
        let steps = Mutex<[String]>([])
        loop.execute {
            steps.withLock { $0.append("outer start") }
            loop.execute { steps.withLock { $0.append("inner") } }
            steps.withLock { $0.append("outer end") }
        }
        try await eventually("both tasks ran") { steps.withLock { $0.count } == 3 }
        #expect(steps.withLock { $0 } == ["outer start", "outer end", "inner"])
    }

    @Test("A group spreads work round-robin over loops that each run on their own thread")
    func groupSpreadsRoundRobinOverDistinctThreads() async throws {
        let group = try EventLoopGroup(count: 2, namePrefix: "group-test")
        defer { group.shutdown() }
        let picked = (0..<4).map { _ in group.next() }
        #expect(picked[0] === group.loops[0] && picked[1] === group.loops[1])
        #expect(picked[2] === group.loops[0] && picked[3] === group.loops[1])

        let threads = Mutex<[Int: UInt]>([:])
        for (index, loop) in group.loops.enumerated() {
            loop.execute {
                let thread = UInt(pthread_self())
                threads.withLock { $0[index] = loop.inLoop ? thread : 0 }
            }
        }
        try await eventually("both loops ran a task") { threads.withLock { $0.count } == 2 }
        let seen = threads.withLock { $0 }
        #expect(seen[0] != 0 && seen[1] != 0, "a task ran where inLoop was false")
        #expect(seen[0] != seen[1], "two loops share one thread")
    }

    @Test("Many TLSChannel.write calls from several threads arrive whole and, per thread, in order")
    func crossThreadWritesArriveInOrder() async throws {
        try await withTLSHarness { harness in
            let writers = 4
            let writesEach = 2_500
            let started = Flag()
            let client = try harness.connect(try harness.clientTLS())
            // Writers start right away, so the first writes are queued while the handshake runs.
            for writer in 0..<writers {
                Thread.detachNewThread {
                    started.set()
                    for sequence in 0..<writesEach {
                        client.channel.write(record(writer: writer, sequence: sequence))
                    }
                }
            }
            let expectedBytes = (0..<writers).reduce(0) { total, writer in
                total + (0..<writesEach).reduce(0) { $0 + record(writer: writer, sequence: $1).count }
            }
            let server = try await harness.acceptedServer(number: 1)
            try await eventually(timeout: .seconds(30), "\(expectedBytes) bytes echoed") {
                client.log.received.count >= expectedBytes || client.log.closed
            }
            #expect(started.isSet)
            #expect(client.log.closeError == nil && server.log.closeError == nil)
            try checkRecords(server.log.received, writers: writers, writesEach: writesEach, side: "server")
            try checkRecords(client.log.received, writers: writers, writesEach: writesEach, side: "echo")
            expectSameBytes(client.log.received, server.log.received, "the echo against what the server read")
        }
    }

    @Test("Writes from one foreign thread keep their order exactly")
    func singleThreadWritesKeepExactOrder() async throws {
        try await withTLSHarness { harness in
            let client = try harness.connect(try harness.clientTLS())
            try await eventually("client open") { client.log.opened }
            let pieces = (0..<5_000).map { record(writer: 9, sequence: $0) }
            let expected = pieces.flatMap { $0 }
            let done = Flag()
            Thread.detachNewThread {
                for piece in pieces { client.channel.write(piece) }
                done.set()
            }
            let server = try await harness.acceptedServer(number: 1)
            try await eventually(timeout: .seconds(30), "all bytes echoed") {
                client.log.received.count >= expected.count || client.log.closed
            }
            #expect(done.isSet)
            expectSameBytes(server.log.received, expected, "what the server read")
            expectSameBytes(client.log.received, expected, "the echo")
        }
    }
}

/// One write: "<writer>:<sequence>:" and a sequence-dependent run of letters, then a newline,
/// so lengths vary and a torn or reordered write is visible.
private func record(writer: Int, sequence: Int) -> [UInt8] {
    let filler = String(repeating: Character(UnicodeScalar(UInt8(97 + sequence % 26))), count: sequence % 41)
    return Array("\(writer):\(sequence):\(filler)\n".utf8)
}

/// Checks that `bytes` is every writer's records, each whole, each writer's in sequence order.
private func checkRecords(_ bytes: [UInt8], writers: Int, writesEach: Int, side: String,
                          sourceLocation: SourceLocation = #_sourceLocation) throws {
    var next = [Int](repeating: 0, count: writers)
    var torn = 0
    var outOfOrder = 0
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
        let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard fields.count == 3,
              let writer = Int(String(decoding: fields[0], as: UTF8.self)), (0..<writers).contains(writer),
              let sequence = Int(String(decoding: fields[1], as: UTF8.self)),
              Array(line) + [UInt8(ascii: "\n")] == record(writer: writer, sequence: sequence)
        else {
            torn += 1
            continue
        }
        if sequence != next[writer] { outOfOrder += 1 }
        next[writer] = sequence + 1
    }
    #expect(bytes.last == UInt8(ascii: "\n"), "\(side): stream does not end with a whole record", sourceLocation: sourceLocation)
    #expect(torn == 0, "\(side): \(torn) records were torn apart or interleaved", sourceLocation: sourceLocation)
    #expect(outOfOrder == 0, "\(side): \(outOfOrder) records arrived out of order", sourceLocation: sourceLocation)
    #expect(next == [Int](repeating: writesEach, count: writers), "\(side): records per writer \(next)",
            sourceLocation: sourceLocation)
}
