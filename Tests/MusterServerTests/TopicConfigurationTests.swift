import Foundation
import MusterBroker
@testable import MusterServer
import MusterTestSupport
import Testing

@Suite("topics configuration")
struct TopicConfigurationTests {
    let directory: TemporaryDirectory
    let parties: PartyDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "muster-topics-config")
        let file = try directory.write("""
            jurisdictions: [{id: jinshan, name: 金山区, ca: /certs/jinshan/ca.crt}, {id: pinghu, ca: [/certs/pinghu/ca.crt, /certs/pinghu/ca-2027.crt], crl: /certs/pinghu/ca.crl}]
            parties:
              - {id: langxia-town, jurisdiction: jinshan, kind: township}
              - {id: shanta-village-grid, jurisdiction: jinshan, kind: grid}
            """, to: "parties.yaml")
        parties = try PartyDirectory.load(file: file)
    }

    func load(_ text: String) throws(ConfigurationError) -> [TopicRule] {
        let file = try! directory.write(text, to: "topics.yaml")
        return try TopicConfiguration.load(file: file, parties: parties)
    }

    func problem(_ text: String) -> String? {
        do { _ = try load(text); return nil } catch { return error.description }
    }

    @Test func jurisdictionsMayListSeveralAuthoritiesAndRevocationLists() {
        let pinghu = parties.jurisdiction("pinghu")
        #expect(pinghu?.authorityPaths == ["/certs/pinghu/ca.crt", "/certs/pinghu/ca-2027.crt"])
        #expect(pinghu?.revocationListPaths == ["/certs/pinghu/ca.crl"])
    }

    @Test func readsSelectorsTypesAndAdmissionLists() throws {
        let rules = try load("""
            topics:
              - destination: /queue/inbox.{party}
                types: [handoff, summons]
                publish: [{kind: [township, department], jurisdiction: jinshan}]
                subscribe: self
                admission:
                  admitted:
                    - {tasks: drain-clearing, from: [{party: langxia-town}], reason: village affairs, reference: 准入清单 第3项}
              - {destination: /topic/notices, publish: all, subscribe: all}
            """)
        #expect(rules.count == 2)
        #expect(rules[0].types == ["handoff", "summons"])
        #expect(rules[0].publishers == [PartySelector(kinds: [.township, .department], jurisdictions: ["jinshan"])])
        #expect(rules[0].subscribers == [.owner])
        #expect(rules[0].admission?.entries.first?.taskTypes == ["drain-clearing"])
        #expect(rules[0].admission?.taskField == "/taskType")
        #expect(rules[0].origin.hasSuffix("topics[0]"))
        #expect(rules[1].types.isEmpty)
        #expect(rules[1].publishers == [.everyone])
    }

    @Test func refusesMistakesWithTheKeyAndWhatToDo() {
        #expect(problem("topics: [{publish: all}]")?.contains("topics[0].destination") == true)
        #expect(problem("topics: [{destination: /topic/x, publish: [{party: nobody}]}]")?.contains("'nobody' is not a party") == true)
        #expect(problem("topics: [{destination: /topic/x, publish: [{kind: ministry}]}]")?.contains("must be one of") == true)
        #expect(problem("topics: [{destination: /topic/x, publish: [{jurisdiction: mars}]}]")?.contains("'mars' is not a jurisdiction") == true)
        #expect(problem("topics: [{destination: /topic/x, subscribe: self}]")?.contains("{party}") == true)
        #expect(problem("topics: [{destination: /topic/x, publish: everyone}]")?.contains("not a selector") == true)
        #expect(problem("topics: [{destination: /topic/x, pubish: all}]")?.contains("pubish") == true, "a typo is an unknown key")
        #expect(problem("topics: [{destination: topic/x}]")?.contains("must start with /topic/") == true)
        #expect(problem("""
            topics: [{destination: /queue/x, admission: {admitted: [{tasks: [a], from: all, reason: r}]}}]
            """)?.contains("reference") == true, "an admission needs the decision that admitted it")
    }

    @Test func aTypeWithoutASchemaFileIsAProblem() throws {
        let topicsFile = try directory.write("topics: [{destination: /topic/x, types: no-such-type, publish: all}]", to: "typed.yaml")
        let files = PolicyFiles(partiesFile: parties.file, topicsFile: topicsFile, schemasDirectory: directory.path)
        #expect(throws: ConfigurationError.self) { try PolicyLoader.load(files) }
        let check = PolicyCheck.run(files)
        #expect(check.problems.contains { $0.description.contains("no-such-type.schema.json") })
    }
}
