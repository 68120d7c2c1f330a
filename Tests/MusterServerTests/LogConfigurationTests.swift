import MusterLog
import MusterServer
import MusterTestSupport
import Testing

@Suite("the log section of muster.yaml")
struct LogConfigurationTests {
    func load(_ text: String) throws -> ServerConfiguration {
        try ConfigurationTests().load("broker: {jurisdiction: jinshan}\n" + text)
    }

    func refusal(_ text: String) -> String? {
        (try? ConfigurationTests())?.refusal("broker: {jurisdiction: jinshan}\n" + text).map { "\($0)" } ?? nil
    }

    @Test func receiptsWaitForFsyncUnlessTheOperatorChoosesAnInterval() throws {
        let defaults = try load("")
        #expect(defaults.log.fsync == .always)
        #expect(defaults.log.segmentBytes == 64 << 20)
        #expect(defaults.log.retention.isEmpty)
        let relaxed = try load("log: {fsync: interval(250), segment-size: 8MiB}\n")
        #expect(relaxed.log.fsync == .interval(milliseconds: 250))
        #expect(relaxed.logOptions.segmentBytes == 8 << 20)
        #expect(relaxed.logOptions.logDirectory.hasSuffix("/log"))
    }

    @Test func retentionRulesReadAgesAndSizes() throws {
        let configuration = try load("""
            log:
              retention:
                - {destination: "/topic/grid.*", max-age: 30d}
                - {destination: /queue/noise, max-size: 1GiB, max-age: 12h}
            """)
        #expect(configuration.log.retention == [
            RetentionRule(destination: "/topic/grid.*", maxAgeMilliseconds: 30 * 86_400_000),
            RetentionRule(destination: "/queue/noise", maxAgeMilliseconds: 12 * 3_600_000, maxBytes: 1 << 30),
        ])
    }

    @Test(arguments: [
        ("log: {fsync: sometimes}\n", "log.fsync"),
        ("log: {fsync: interval(0)}\n", "log.fsync"),
        ("log: {segment-size: 10}\n", "log.segment-size"),
        ("log: {segment-size: lots}\n", "log.segment-size"),
        ("log: {retention: [{max-age: 1d}]}\n", "log.retention[0].destination"),
        ("log: {retention: [{destination: /topic/a}]}\n", "log.retention[0].max-age"),
        ("log: {retention: [{destination: /topic/a, max-age: forever}]}\n", "log.retention[0].max-age"),
        ("log: {retention: [{destination: /topic/a, max-age: 1d, keep: all}]}\n", "log.retention[0].keep"),
        ("log: {fsync: always, compress: true}\n", "log.compress"),
    ])
    func badLogSettingsAreRefusedNamingTheKey(text: String, key: String) {
        let message = refusal(text)
        #expect(message?.contains(key) == true, "\(message ?? "accepted")")
    }
}
