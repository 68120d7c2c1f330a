import Foundation
import MusterLog
import MusterTestSupport
import Synchronization
import Testing

/// A subscriber far behind is served from disk with bounded memory: the broker reads the log
/// only as fast as the connection drains. The backlog is always ~200 MB of bodies; Tests/run
/// sends it as 250,000 messages, MUSTER_SOAK=1 as a million (the long run), and
/// MUSTER_REPLAY_RECORDS=N as N.
@Suite("replay of a long backlog with bounded broker memory", .tags(.heavy))
struct ReplayMemoryTests {
    static let records = TestScale.count("MUSTER_REPLAY_RECORDS", everyday: 250_000, soak: 1_000_000)
    /// The same ~200 MB of bodies whatever the count (at least 200 bytes each).
    static let bodyBytes = max(200, 200_000_000 / records)
    static let destination = "/topic/replay.backlog"
    /// Far below the ~200 MB of bodies alone (and the more still of MESSAGE frames) the replay sends.
    static let rssGrowthBound = 96 << 20

    @Test func aSubscriberFarBehindIsServedInOrderWithBoundedMemory() async throws {
        let started = ContinuousClock.now
        let directory = try TemporaryDirectory(prefix: "muster-backlog")
        defer { directory.remove() }

        // 1. Write the backlog straight into a fresh data directory.
        let dataDirectory = BrokerProcess.dataDirectory(in: directory)
        let (written, failures) = try await runBlocking { try Self.writeBacklog(into: dataDirectory) }
        #expect(failures == 0, "appends failed while writing the backlog")
        #expect(written.records == Self.records)
        let wroteAt = ContinuousClock.now

        // 2. Start the broker on it and note its footprint once it listens.
        let broker = try await runBlocking { try BrokerProcess.start(in: directory, startupTimeout: .seconds(120)) }
        defer { broker.kill() }
        let listeningAt = ContinuousClock.now
        let baseline = try #require(broker.residentBytes, "cannot read VmRSS of the broker")

        // 3. Replay everything through a fast raw reader while sampling the broker's RSS.
        let files = try broker.pki.client("discipline-inspector")
        let reader = try PythonScript.start("fast_replay_reader.py", [broker.address.host, String(broker.address.port), files.certificate,
                                                                      files.key, files.authority, Self.destination])
        // Sample the broker's RSS while the replay runs (the timeout only turns a hang into a failure).
        var peak = baseline
        var samples = 0
        try? await eventually(timeout: .seconds(600), "the replay to end", pollingEvery: .milliseconds(100)) {
            if let rss = broker.residentBytes {
                peak = max(peak, rss)
                samples += 1
            }
            return !reader.isRunning
        }
        let run = await reader.finish(timeout: .seconds(10))
        let replayedAt = ContinuousClock.now
        let text = run.output

        #expect(broker.isRunning, "the broker died during the replay:\n\(broker.log.suffix(3000))")
        #expect(run.status == 0, "the reader failed:\n\(text)\nbroker log tail:\n\(broker.log.suffix(3000))")
        let report = try #require(PythonScript.jsonLines(run.stdout).last, "no JSON report from the reader:\n\(text)")
        let end = report["end"] as? [String: String]
        #expect(report["count"] as? Int == Self.records)
        #expect(report["first"] as? Int == 0)
        #expect(report["last"] as? Int == Self.records - 1)
        #expect(report["breaks"] as? Int == 0, "offsets out of order or missing")
        #expect(end?["muster-replayed"] == String(Self.records))
        // The backlog was written without the broker, so the log got its identity record when the
        // broker first started, after the backlog: the head the replay ends at is one further.
        #expect(end?["muster-end-offset"] == String(Self.records + 1))
        let growth = peak - baseline
        #expect(growth < Self.rssGrowthBound,
                "the broker's RSS grew by \(growth >> 20) MiB (from \(baseline >> 20) to \(peak >> 20) MiB) serving the replay")
        #expect(samples >= 1, "no RSS sample was taken during the replay")

        print("""
            replay memory: wrote \(Self.records) records (\(written.bytes >> 20) MiB in \(written.segments) segments) \
            in \(wroteAt - started); broker listening after \(listeningAt - wroteAt); \
            replay took \(replayedAt - listeningAt) (reader: \(report["seconds"] ?? "?") s); \
            RSS baseline \(baseline >> 20) MiB, peak \(peak >> 20) MiB, growth \(growth >> 20) MiB over \(samples) samples; \
            total \(ContinuousClock.now - started)
            """)
    }

    /// Appends the records in chunks (each waits for its last completion, so memory stays flat)
    /// with interval fsync, then closes the log and verifies it.
    static func writeBacklog(into dataDirectory: String) throws -> (LogVerification, failures: Int) {
        let log = try MessageLog.open(LogOptions(dataDirectory: dataDirectory, fsync: .interval(milliseconds: 1000)))
        let headers = [LogHeader("muster-sender", "shanta-village-grid"), LogHeader("muster-sender-jurisdiction", "jinshan")]
        let padding = [UInt8](repeating: UInt8(ascii: "."), count: Self.bodyBytes)
        let chunk = 20_000
        let failures = Atomic<Int>(0)
        var next = 0
        while next < Self.records {
            let done = DispatchSemaphore(value: 0)
            let last = min(next + chunk, Self.records) - 1
            for index in next...last {
                let prefix = Array("backlog message \(index) ".utf8)
                let body = prefix + padding[..<(Self.bodyBytes - prefix.count)]
                log.append(LogEntry(destination: Self.destination, headers: headers, body: body)) { result in
                    if case .failure = result { failures.add(1, ordering: .relaxed) }
                    if index == last { done.signal() }
                }
            }
            done.wait()
            next = last + 1
        }
        log.close()
        return (try LogArchive(dataDirectory: dataDirectory).verify(), failures.load(ordering: .relaxed))
    }
}
