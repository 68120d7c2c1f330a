import Foundation
import MusterLog
import MusterNet
import MusterProtocol
import MusterStomp
import MusterTestSupport
import Testing

/// The durable log under SIGKILL: publishers pipeline SENDs with receipts while the broker is
/// killed at random moments and restarted on the same data directory, again and again.
/// Whatever got a RECEIPT must be in the log exactly once, each publisher's messages in the
/// order it sent them, nothing twice, and the log must verify (with LogArchive and with
/// `muster log verify`). Tests/run does 8 kill cycles; MUSTER_SOAK=1 does 20, and
/// MUSTER_CRASH_CYCLES=N does N.
@Suite("crash safety of the durable log under SIGKILL", .tags(.heavy))
struct CrashSafetyTests {
    static let publishers = 4
    /// Receipts outstanding per connection.
    static let window = 16
    /// Publishers 0 and 1 ask for a receipt on every SEND; 2 and 3 on every 10th, which then
    /// covers the nine before it (and makes the log's write batches bigger).
    static func receiptEvery(_ publisher: Int) -> Int { publisher < 2 ? 1 : 10 }
    static let destination = "/topic/crash-safety"
    /// Small segments, so that kills also land on segment roll-overs.
    static let settings = "log: {segment-size: 64KiB}"

    /// Every cycle kills the broker at a random moment of a busy run; eight already land on
    /// pipelined receipts, group commits and segment roll-overs.
    static var cycles: Int { TestScale.count("MUSTER_CRASH_CYCLES", everyday: 8, soak: 20) }

    static let loop: EventLoop = {
        Socket.ignoreBrokenPipeSignal()  // writes to a killed broker must fail, not kill the tests
        let loop = try! EventLoop(name: "crash-publishers")
        loop.start()
        return loop
    }()

    @Test func receiptedMessagesSurviveRepeatedSIGKILLExactlyOnceAndInOrder() async throws {
        var broker = try await runBlocking { try BrokerProcess.start(settings: Self.settings) }
        let directory = broker.directory
        defer { directory.remove() }
        let files = try broker.pki.client("shanta-village-grid")
        var nextSequence = [Int](repeating: 1, count: Self.publishers)
        var receipted: [Set<Int>] = Array(repeating: [], count: Self.publishers)
        var sentCount = 0
        var recoveries = 0
        var cycleSummaries: [String] = []

        do {
            for cycle in 1...Self.cycles {
                let delay = Int.random(in: 50...400)
                let current = broker
                let starts = nextSequence
                let runs = Task { await Self.publish(to: current, files: files, from: starts, limit: nil) }
                try await Task.sleep(for: .milliseconds(delay))
                broker.kill()
                let results = try await within(.seconds(30), "the publishers to notice the kill") { await runs.value }
                var cycleReceipts = 0
                var cycleSent = 0
                for (publisher, run) in results {
                    #expect(run.errors.isEmpty, "publisher \(publisher) got ERROR frames: \(run.errors)")
                    receipted[publisher].formUnion(run.receipted)
                    nextSequence[publisher] = run.nextSequence
                    sentCount += run.sent
                    cycleReceipts += run.receipted.count
                    cycleSent += run.sent
                }
                cycleSummaries.append("\(cycle): kill after \(delay) ms, \(cycleSent) sent, \(cycleReceipts) receipted")
                // Opening the log verifies all of it, which takes longer as it grows (long runs).
                broker = try broker.restart(startupTimeout: .seconds(300))
                if broker.log.contains("recovered the log") { recoveries += 1 }
            }

            // A final clean run: every publisher sends a last batch and waits for every receipt.
            let finals = await Self.publish(to: broker, files: files, from: nextSequence, limit: 50)
            for (publisher, run) in finals {
                #expect(run.errors.isEmpty, "publisher \(publisher) got ERROR frames: \(run.errors)")
                #expect(run.receipted.count == 50, "publisher \(publisher)'s final clean batch got \(run.receipted.count) of 50 receipts")
                receipted[publisher].formUnion(run.receipted)
                sentCount += run.sent
            }
            let status = broker.stop(removingDirectory: false)
            #expect(status == 0, "the final clean stop exited with \(status):\n\(broker.log)")
        } catch {
            Issue.record("broker output:\n\(broker.log)")
            broker.kill()
            throw error
        }

        // Read the log back.
        let archive = LogArchive(dataDirectory: broker.dataDirectory)
        let verification = try archive.verify()
        var stored: [(publisher: Int, sequence: Int, offset: UInt64)] = []
        var foreign: [UInt64] = []
        var identities: [UInt64] = []
        try archive.forEach { record in
            if record.destination == LogIdentityHeader.destination.description {
                identities.append(record.offset)  // the broker's, once, at the start of the log
            } else if record.destination == Self.destination, let publisher = record.header("publisher").flatMap({ Int($0) }),
               let sequence = record.header("sequence").flatMap({ Int($0) }),
               record.body == PipelinedPublisher.body(publisher: publisher, sequence: sequence) {
                stored.append((publisher, sequence, record.offset))
            } else {
                foreign.append(record.offset)
            }
            return true
        }
        #expect(identities == [0], "one identity record, the log's first, whatever the kills: \(identities)")
        #expect(verification.records == stored.count + foreign.count + identities.count)
        #expect(foreign.isEmpty, "records that no publisher sent (or with a damaged body) at offsets \(foreign.prefix(20))")
        #expect(verification.tornTail == nil, "a torn tail after a clean stop: \(String(describing: verification.tornTail))")

        let totalReceipted = receipted.reduce(0) { $0 + $1.count }
        #expect(totalReceipted > Self.publishers * 50, "only the final batch got receipts: the kills came before any publishing")

        // Nothing twice.
        var seen: [String: UInt64] = [:]
        var duplicates: [String] = []
        for message in stored {
            let key = "\(message.publisher)/\(message.sequence)"
            if let first = seen[key] { duplicates.append("\(key) at offsets \(first) and \(message.offset)") } else { seen[key] = message.offset }
        }
        #expect(duplicates.isEmpty, "messages stored twice: \(duplicates.prefix(20))")

        // Every receipted message is there.
        var lost = 0
        for publisher in 0..<Self.publishers {
            let missing = receipted[publisher].filter { seen["\(publisher)/\($0)"] == nil }.sorted()
            lost += missing.count
            #expect(missing.isEmpty, "publisher \(publisher): \(missing.count) receipted messages are missing from the log: \(missing.prefix(20))")
        }

        // Each publisher's messages in the order it sent them.
        for publisher in 0..<Self.publishers {
            let sequences = stored.filter { $0.publisher == publisher }.map(\.sequence)
            let backwards = zip(sequences, sequences.dropFirst()).filter { $0.0 >= $0.1 }
            #expect(backwards.isEmpty, "publisher \(publisher)'s messages out of order in the log: \(backwards.prefix(20))")
        }

        // What start-up takes from the sealed segments' index files (written at rolls the kills
        // interrupted, or rebuilt at a later start) agrees with the full read, and a reader of
        // the destination finds every stored message through the position lists.
        let reopened = try MessageLog.open(LogOptions(dataDirectory: broker.dataDirectory))
        #expect(reopened.recovery.records == verification.records)
        #expect(reopened.head == verification.head)
        #expect(reopened.recovery.segmentsFromIndexes == verification.segments - 1, "every sealed segment has a matching index")
        var listed: [UInt64] = []
        while true {
            let (records, _) = try reopened.records(of: Self.destination, from: (listed.last ?? 0) + (listed.isEmpty ? 0 : 1), limit: 4096)
            if records.isEmpty { break }
            listed += records.map(\.offset)
        }
        reopened.close()
        #expect(listed == stored.map(\.offset), "the destination's records through the index: \(listed.count) of \(stored.count)")

        // The command-line verifier agrees.
        let result = try await runMusterLogVerify(dataDirectory: broker.dataDirectory)
        #expect(result.status == 0, "muster log verify failed:\n\(result.output)")
        #expect(result.output.contains("verified \(verification.records) records"), "muster log verify said:\n\(result.output)")
        let commandLine = "muster log verify: exit \(result.status), \(result.output.split(separator: "\n").first ?? "")"

        print("""
            crash safety: \(Self.cycles) SIGKILL cycles, \(sentCount) sent, \(totalReceipted) receipted, \
            \(stored.count) stored, \(lost) receipted lost, \(duplicates.count) stored twice, \(recoveries) restarts recovered a torn write; \
            log \(verification.records) records in \(verification.segments) segments; \(commandLine)
            \(cycleSummaries.joined(separator: "\n"))
            """)
    }
}

extension CrashSafetyTests {
    /// Runs every publisher on its own thread against `broker` until its connection ends (or `limit`).
    static func publish(to broker: BrokerProcess, files: ClientFiles, from starts: [Int], limit: Int?) async -> [(Int, PublisherRun)] {
        await withTaskGroup(of: (Int, PublisherRun).self) { group in
            for publisher in 0..<publishers {
                group.addTask {
                    (publisher, await runBlocking {
                        PipelinedPublisher.run(broker: broker, files: files, publisher: publisher, from: starts[publisher],
                                               receiptEvery: receiptEvery(publisher), window: window, limit: limit, loop: loop)
                    })
                }
            }
            var results: [(Int, PublisherRun)] = []
            for await result in group { results.append(result) }
            return results
        }
    }
}

/// Runs `muster log verify --data DIR`.
func runMusterLogVerify(dataDirectory: String) async throws -> ProgramRun {
    try await runMuster(["log", "verify", "--data", dataDirectory])
}

/// What one publisher connection did.
struct PublisherRun: Sendable {
    /// Sequence numbers covered by a RECEIPT: the one that asked for it and every earlier SEND
    /// of the same connection (receipts come in order, so one covers everything before it).
    var receipted: [Int]
    /// SENDs written to the connection.
    var sent: Int
    /// The first sequence number not yet used.
    var nextSequence: Int
    var errors: [String]
}

/// One publisher connection that pipelines SENDs in sequence order, asking for a RECEIPT on
/// every `receiptEvery`th one, with at most `window` receipts outstanding, until the connection
/// ends (or `limit` were sent and all receipted).
final class PipelinedPublisher: TLSChannelDelegate, @unchecked Sendable {
    private let condition = NSCondition()
    private var decoder = StompFrameDecoder()
    private var opened = false
    private var connected = false
    private var closed = false
    /// Sequence numbers whose SEND asked for a receipt that has not come yet, oldest first.
    private var outstanding: [Int] = []
    /// The first sequence number not yet covered by a receipt on this connection.
    private var uncovered = 0
    private var receipted: [Int] = []
    private var errors: [String] = []

    static func body(publisher: Int, sequence: Int) -> [UInt8] {
        // Sizes vary with the sequence so that records straddle segment ends in many ways.
        let text = "publisher \(publisher) sequence \(sequence) "
        return Array(text.utf8) + [UInt8](repeating: UInt8(ascii: "a") + UInt8(sequence % 26), count: (sequence * 37) % 900)
    }

    /// Connects with `files` (issued beforehand: issuing is not thread-safe) and publishes
    /// until the broker goes away (or `limit`).
    static func run(broker: BrokerProcess, files: ClientFiles, publisher: Int, from start: Int, receiptEvery: Int, window: Int,
                    limit: Int?, loop: EventLoop) -> PublisherRun {
        let connection = PipelinedPublisher()
        connection.uncovered = start
        let channel: TLSChannel
        do {
            let context = try TLSContext(role: .client, configuration: files.tls)
            channel = try TLSChannel.connect(to: broker.address, context: context, loop: loop, serverName: "127.0.0.1",
                                             delegate: connection)
        } catch {
            // The broker was killed before we could connect: nothing was sent.
            return PublisherRun(receipted: [], sent: 0, nextSequence: start, errors: [])
        }
        channel.start()
        let next = connection.publish(channel: channel, publisher: publisher, from: start, receiptEvery: receiptEvery,
                                      window: window, limit: limit)
        channel.close()
        connection.condition.lock()
        defer { connection.condition.unlock() }
        return PublisherRun(receipted: connection.receipted, sent: next - start, nextSequence: next, errors: connection.errors)
    }

    private func publish(channel: TLSChannel, publisher: Int, from start: Int, receiptEvery: Int, window: Int, limit: Int?) -> Int {
        condition.lock()
        defer { condition.unlock() }
        while !opened && !closed { condition.wait() }
        guard !closed else { return start }
        channel.write(StompFrameEncoder.encode(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "127.0.0.1"])))
        while !connected && !closed { condition.wait() }
        var sequence = start
        while !closed {
            if let limit, sequence - start == limit {
                // Wait for the last receipts of a bounded run.
                while !outstanding.isEmpty && !closed { condition.wait() }
                break
            }
            while outstanding.count >= window && !closed { condition.wait() }
            guard !closed else { break }
            var headers: StompHeaders = [
                "destination": CrashSafetyTests.destination,
                "publisher": String(publisher),
                "sequence": String(sequence),
            ]
            let count = sequence - start + 1
            if count % receiptEvery == 0 || count == limit {
                headers["receipt"] = "p\(publisher)-\(sequence)"
                outstanding.append(sequence)
            }
            channel.write(StompFrameEncoder.encode(StompFrame(.send, headers: headers, body: Self.body(publisher: publisher, sequence: sequence))))
            sequence += 1
        }
        return sequence
    }

    // MARK: TLSChannelDelegate (loop thread)

    func channelDidOpen(_ channel: TLSChannel) {
        condition.lock()
        opened = true
        condition.broadcast()
        condition.unlock()
    }

    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        decoder.append(bytes)
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        while true {
            let frame: StompFrame?
            do { frame = try decoder.next() } catch {
                errors.append("undecodable frame: \(error)")
                closed = true
                return
            }
            guard let frame else { return }
            switch frame.command {
            case .connected:
                connected = true
            case .receipt:
                // Receipts must come in the order they were asked for.
                if let id = frame.headers["receipt-id"], let dash = id.lastIndex(of: "-"),
                   let sequence = Int(id[id.index(after: dash)...]), outstanding.first == sequence {
                    outstanding.removeFirst()
                    receipted += Array(uncovered...sequence)
                    uncovered = sequence + 1
                } else {
                    errors.append("RECEIPT \(frame.headers["receipt-id"] ?? "") while waiting for \(outstanding.first.map { "p-\($0)" } ?? "none")")
                }
            case .error:
                errors.append("\(frame.headers["muster-error-code"] ?? "?"): \(frame.headers["message"] ?? "")")
                closed = true
            default:
                errors.append("unexpected \(frame.command) frame")
            }
        }
    }

    func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
