import Foundation
import MusterBroker
import MusterServer
import MusterTestSupport
import Testing

@Suite("configuration files")
struct ConfigurationTests {
    let directory: TemporaryDirectory
    let partiesFile: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "muster-config")
        partiesFile = try directory.write("""
            jurisdictions:
              - {id: jinshan, name: 金山区, ca: /certs/jinshan/ca.crt}
              - {id: pinghu, name: 平湖市, ca: /certs/pinghu/ca.crt}
            parties:
              - {id: langxia-town, name: 廊下镇, jurisdiction: jinshan, kind: township}
              - {id: jinshan-public-security, jurisdiction: jinshan, kind: department, supervisor: langxia-town}
            """, to: "parties.yaml")
    }

    func load(_ text: String) throws(ConfigurationError) -> ServerConfiguration {
        let file = try! directory.write("parties: \(partiesFile)\n" + text, to: "muster.yaml")
        return try ServerConfiguration.load(file: file)
    }

    func refusal(_ text: String) -> ConfigurationError? {
        do { _ = try load(text); return nil } catch { return error }
    }

    @Test func shippedConfigurationLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(root.path)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let configuration = try ServerConfiguration.load(file: "Config/muster.yaml")
        #expect(configuration.jurisdiction == "jinshan")
        #expect(configuration.listen.description == "127.0.0.1:61614")
        #expect(configuration.parties.parties.count == 9)
        #expect(configuration.trustedAuthorityPaths.count == 2)
        let kinds = Set(configuration.parties.parties.map(\.kind.rawValue))
        #expect(kinds.isSuperset(of: ["township", "department", "enterprise", "grid", "coordinator", "auditor"]))
    }

    @Test func defaultsApplyWhenKeysAreAbsent() throws {
        let configuration = try load("broker: {jurisdiction: pinghu}\n")
        #expect(configuration.listen.description == "127.0.0.1:61614")
        #expect(configuration.minimumTLSVersion == .tls12)
        #expect(configuration.session.heartbeatSend == 10_000)
        #expect(configuration.parties.party(.init(jurisdiction: "jinshan", party: "langxia-town"))?.name == "廊下镇")
        #expect(configuration.memoryReturnQuietPeriod == .seconds(5))
    }

    @Test func metricsAreServedOnlyOnALoopbackAddress() throws {
        #expect(try load("broker: {jurisdiction: jinshan}\n").metricsListen == nil)
        #expect(try load("broker: {jurisdiction: jinshan}\nweb: {metrics-listen: 127.0.0.1:9464}\n").metricsListen?.port == 9464)
        #expect(try load("broker: {jurisdiction: jinshan}\nweb: {metrics-listen: \"[::1]:9464\"}\n").metricsListen?.host == "::1")
        let exposed = refusal("broker: {jurisdiction: jinshan}\nweb: {metrics-listen: 0.0.0.0:9464}\n")
        #expect(exposed?.key == "web.metrics-listen" && exposed?.problem.contains("loopback") == true, "\(String(describing: exposed))")
        #expect(refusal("broker: {jurisdiction: jinshan}\nweb: {board: true}\n")?.key == "web.board")
        for host in ["127.foo", "127.0.0.1.evil", "1270.0.0.1", "10.0.0.1"] {
            #expect(refusal("broker: {jurisdiction: jinshan}\nweb: {metrics-listen: \"\(host):9464\"}\n")?.key == "web.metrics-listen", "\(host)")
        }
    }

    @Test func theBoardIsServedWhereWebListenSaysUnlessTurnedOff() throws {
        #expect(try load("broker: {jurisdiction: jinshan}\n").webListen == nil)
        let served = try load("broker: {jurisdiction: jinshan}\nweb: {listen: 0.0.0.0:8443}\n").webListen
        #expect(served?.host == "0.0.0.0" && served?.port == 8443)
        #expect(try load("broker: {jurisdiction: jinshan}\nweb: {listen: 0.0.0.0:8443, enabled: false}\n").webListen == nil)
        #expect(refusal("broker: {jurisdiction: jinshan}\nweb: {listen: nowhere}\n")?.key == "web.listen")
        #expect(refusal("broker: {jurisdiction: jinshan}\nweb: {listen: 127.0.0.1:8443, enabled: maybe}\n")?.key == "web.enabled")
    }

    @Test func checkpointsAreSignedEveryTenMinutesUnlessSaidOtherwise() throws {
        #expect(try load("broker: {jurisdiction: jinshan}\n").log.checkpointInterval == 600_000)
        #expect(try load("broker: {jurisdiction: jinshan}\nlog: {checkpoint-interval: 90s}\n").log.checkpointInterval == 90_000)
        #expect(try load("broker: {jurisdiction: jinshan}\nlog: {checkpoint-interval: off}\n").log.checkpointInterval == nil)
        #expect(refusal("broker: {jurisdiction: jinshan}\nlog: {checkpoint-interval: often}\n")?.key == "log.checkpoint-interval")
    }

    @Test func memoryReturnCanBeTunedOrTurnedOff() throws {
        #expect(try load("broker: {jurisdiction: jinshan}\nmemory-return-quiet-ms: 250\n").memoryReturnQuietPeriod == .milliseconds(250))
        #expect(try load("broker: {jurisdiction: jinshan}\nmemory-return-quiet-ms: 0\n").memoryReturnQuietPeriod == nil)
        #expect(refusal("broker: {jurisdiction: jinshan}\nmemory-return-quiet-ms: soon\n")?.key == "memory-return-quiet-ms")
    }

    @Test func settingsOverrideDefaults() throws {
        let configuration = try load("""
            broker: {jurisdiction: jinshan}
            listen: "[::1]:7000"
            tls: {min-version: "1.3"}
            limits: {max-body-bytes: 2048, max-subscriptions: 3}
            heartbeat: {send-ms: 500, expect-ms: 0, tolerance: 3}
            """)
        #expect(configuration.listen.description == "[::1]:7000")
        #expect(configuration.minimumTLSVersion == .tls13)
        #expect(configuration.limits.maxBodyBytes == 2048)
        #expect(configuration.session.maxSubscriptions == 3)
        #expect(configuration.session.heartbeatWant == 0)
        #expect(configuration.heartbeatTolerance == 3)
    }

    @Test func transactionLimitsAreSettings() throws {
        let configuration = try load("""
            broker: {jurisdiction: jinshan}
            limits: {max-transaction-frames: 50, max-transaction-bytes: 1MiB, max-transaction-bytes-per-connection: 2MiB, max-open-transactions: 3}
            """)
        #expect(configuration.session.maxTransactionFrames == 50)
        #expect(configuration.session.maxTransactionBytes == 1 << 20)
        #expect(configuration.session.maxTransactionBytesPerConnection == 2 << 20)
        #expect(configuration.session.maxOpenTransactions == 3)
        #expect(refusal("broker: {jurisdiction: jinshan}\nlimits: {max-open-transactions: 0}\n")?.key == "limits.max-open-transactions")
    }

    @Test func publishIDsAreRememberedForAWindowAndUpToACount() throws {
        let defaults = try load("broker: {jurisdiction: jinshan}\n")
        #expect(defaults.publishIDs.window == 600_000 && defaults.publishIDs.capacity == 100_000)
        let configuration = try load("broker: {jurisdiction: jinshan}\npublish-ids: {window: 2h, max-remembered: 500}\n")
        #expect(configuration.publishIDs.window == 7_200_000)
        #expect(configuration.publishIDs.capacity == 500)
        #expect(refusal("broker: {jurisdiction: jinshan}\npublish-ids: {max-remembered: 0}\n")?.key == "publish-ids.max-remembered")
        #expect(refusal("broker: {jurisdiction: jinshan}\npublish-ids: {windw: 1m}\n")?.key == "publish-ids.windw")
    }

    @Test func unknownKeyIsNamedWithItsPath() {
        let error = refusal("broker: {jurisdiction: jinshan}\nlimits: {max-body-byte: 10}\n")
        #expect(error?.key == "limits.max-body-byte")
        #expect(error?.file.hasSuffix("muster.yaml") == true)
        #expect(error?.problem.contains("not a known setting") == true)
    }

    @Test func badValuesAreNamedWithWhatIsWrong() {
        #expect(refusal("broker: {jurisdiction: jinshan}\nlisten: somewhere\n")?.key == "listen")
        #expect(refusal("broker: {jurisdiction: jinshan}\ntls: {min-version: \"1.1\"}\n")?.key == "tls.min-version")
        #expect(refusal("broker: {jurisdiction: jinshan}\nlimits: {max-subscriptions: -1}\n")?.key == "limits.max-subscriptions")
        #expect(refusal("broker: {jurisdiction: jinshan}\nheartbeat: {tolerance: 0.5}\n")?.key == "heartbeat.tolerance")
        #expect(refusal("broker: {jurisdiction: mars}\n")?.problem.contains("'mars' is not a jurisdiction") == true)
        #expect(refusal("listen: 127.0.0.1:1\n")?.key == "broker.jurisdiction")
    }

    @Test func invalidYAMLIsReportedForTheFile() {
        let error = refusal("broker: [unclosed\n")
        #expect(error?.key == "")
        #expect(error?.problem.contains("not valid YAML") == true)
    }

    @Test func partiesFileProblemsNameThePartiesFile() throws {
        let badParties = try directory.write("""
            jurisdictions:
              - {id: jinshan, ca: /certs/ca.crt}
            parties:
              - {id: langxia-town, jurisdiction: jinshan, kind: village-head}
            """, to: "bad-parties.yaml")
        #expect(throws: ConfigurationError.self) { try PartyDirectory.load(file: badParties) }
        do {
            _ = try PartyDirectory.load(file: badParties)
        } catch {
            #expect(error.file == badParties)
            #expect(error.key == "parties[0].kind")
            #expect(error.problem.contains("township"))
        }
        let unknownJurisdiction = try directory.write("""
            jurisdictions: [{id: jinshan, ca: /c.crt}]
            parties: [{id: x, jurisdiction: pinghu, kind: grid}]
            """, to: "parties-2.yaml")
        do {
            _ = try PartyDirectory.load(file: unknownJurisdiction)
            Issue.record("a party of an unlisted jurisdiction must be refused")
        } catch {
            #expect(error.key == "parties[0].jurisdiction")
        }
    }
}
