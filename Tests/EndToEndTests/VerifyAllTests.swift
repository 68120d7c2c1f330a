import Foundation
import MusterClient
import MusterTestSupport
import Testing

/// `muster serve` takes sealed segments from their index files; `--verify-all` reads every
/// record. A record edited inside a sealed segment (same size, same last record), older than
/// the publish-id window a start reads, passes the first and is refused by the second, which
/// names the segment.
@Suite("muster serve --verify-all through a real broker process")
struct VerifyAllTests {
    @Test func verifyAllRefusesAnEditThatAnOrdinaryStartDoesNotRead() async throws {
        let broker = try await runBlocking {
            try BrokerProcess.start(settings: "log: {segment-size: 64KiB}\npublish-ids: {window: 1s}")
        }
        defer { broker.directory.remove() }
        let publisher = try await broker.connect("langxia-town")
        let padding = String(repeating: "河道巡查", count: 80)
        for number in 1...300 {
            try await publisher.publish(to: "/topic/notices", text: "\(padding) \(number)", receipt: number % 50 == 0)
        }
        try await publisher.disconnect()
        let published = ContinuousClock.now
        #expect(await runBlocking { broker.stop(removingDirectory: false) } == 0)
        // A start reads the records of the last second (the publish ids it must answer for): the edit must be older.
        try await eventually("the records to be older than the publish-id window") { ContinuousClock.now - published > .milliseconds(1500) }

        let log = broker.dataDirectory + "/log"
        let segments = try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".log") }.sorted()
        try #require(segments.count >= 3, "\(segments)")
        let victim = segments[1]
        let path = log + "/" + victim
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x01  // inside a record in the middle of a sealed segment
        try bytes.write(to: URL(fileURLWithPath: path))

        let ordinary = try await runBlocking { try broker.restart() }
        #expect(ordinary.log.contains("indexed-segments=\(segments.count - 1)"), "\(ordinary.log)")
        #expect(await runBlocking { ordinary.stop(removingDirectory: false) } == 0)

        let strict = try await runMuster(["serve", "--config", broker.configFile, "--verify-all"], timeout: .seconds(60))
        #expect(strict.status != 0, "\(strict.output)")
        #expect(strict.output.contains(victim), "\(strict.output)")
        #expect(strict.output.contains("muster log verify --data"), "\(strict.output)")
    }
}
