import Foundation
import MusterBroker
import MusterServer
import MusterTestSupport
import Testing
@testable import MusterProtocol

@Suite("delivery configuration")
struct DeliveryConfigurationTests {
    let directory: TemporaryDirectory
    let partiesFile: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "muster-delivery-config")
        partiesFile = try directory.write("""
            jurisdictions: [{id: jinshan, name: 金山区, ca: /certs/jinshan/ca.crt}]
            parties: [{id: langxia-town, jurisdiction: jinshan, kind: township}]
            """, to: "parties.yaml")
    }

    func load(_ delivery: String) throws(ConfigurationError) -> DeliveryRules {
        let file = try! directory.write("parties: \(partiesFile)\nbroker: {jurisdiction: jinshan}\n" + delivery, to: "muster.yaml")
        return try ServerConfiguration.load(file: file).delivery
    }

    func refusal(_ delivery: String) -> ConfigurationError? {
        do { _ = try load(delivery); return nil } catch { return error }
    }

    @Test func withoutTheSectionAckWaitIsThirtySecondsAndDeliveriesAreUnlimited() throws {
        let rules = try load("")
        let policy = rules.policy(for: Destination(kind: .queue, name: "work-orders"))
        #expect(policy == DeliveryPolicy(ackWait: 30_000, maxDeliveries: nil, deadLetter: Destination(kind: .queue, name: "muster.dead-letters")))
    }

    @Test func destinationRulesOverrideTheDefaultsAndTheFirstMatchWins() throws {
        let rules = try load("""
            delivery:
              ack-wait: 10s
              max-deliveries: 7
              destinations:
                - {destination: /queue/handoff.urgent, ack-wait: 500ms}
                - {destination: "/queue/handoff.*", max-deliveries: unlimited, dead-letter: /queue/handoff-dead}
            """)
        let urgent = rules.policy(for: Destination(kind: .queue, name: "handoff.urgent"))
        #expect(urgent.ackWait == 500 && urgent.maxDeliveries == 7)
        let other = rules.policy(for: Destination(kind: .queue, name: "handoff.routine"))
        #expect(other.ackWait == 10_000 && other.maxDeliveries == nil && other.deadLetter.description == "/queue/handoff-dead")
        #expect(rules.policy(for: Destination(kind: .topic, name: "summons")).maxDeliveries == 7)
    }

    /// The configuration reads durations as the command line does (`DurationText`).
    @Test func durationsAreWrittenAsOnTheCommandLine() throws {
        #expect(try load("delivery: {ack-wait: 1m30s}\n").policy(for: Destination(kind: .queue, name: "q")).ackWait == 90_000)
        #expect(try load("delivery: {ack-wait: PT2M}\n").policy(for: Destination(kind: .queue, name: "q")).ackWait == 120_000)
        #expect(refusal("delivery: {ack-wait: 0s}\n")?.problem.contains("must be a duration such as") == true)
    }

    @Test func badValuesAreRefusedNamingTheKey() {
        #expect(refusal("delivery: {max-deliveries: 0}\n")?.key == "delivery.max-deliveries")
        #expect(refusal("delivery: {ack-wait: soon}\n")?.key == "delivery.ack-wait")
        #expect(refusal("delivery: {dead-letter: nowhere}\n")?.problem.contains("not a destination") == true)
        #expect(refusal("delivery: {destinations: [{ack-wait: 1s}]}\n")?.problem.contains("is required") == true)
        #expect(refusal("delivery: {ack-wiat: 1s}\n")?.key == "delivery.ack-wiat")
    }
}
