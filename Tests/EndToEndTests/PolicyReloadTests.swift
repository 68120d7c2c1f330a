import Foundation
import MusterClient
import MusterTestSupport
import Testing
@testable import MusterBroker

/// SIGHUP and `muster reload`: a new policy applies to the next frame, other connections
/// stay up, a broken configuration changes nothing, removed or revoked parties are closed.
@Suite("Policy reload", .serialized)
struct PolicyReloadTests {
    static let notices = """
        topics:
          - {destination: /topic/notices, publish: all, subscribe: all}
        """
    static let noticesAndPatrol = notices + "\n  - {destination: /topic/patrol, publish: [{kind: township}], subscribe: all}\n"

    private func refusalCode(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as MusterClientError {
            return error.code ?? "\(error)"
        } catch {
            return "\(error)"
        }
    }

    @Test func aNewTopicAppliesToTheNextFrameAndConnectionsStayUp() async throws {
        try await withBroker(topics: Self.notices) { broker in
            let town = try await broker.connect("langxia-town")
            let listener = try await broker.connect("jinshan-public-security")
            let notices = try await listener.subscribe(to: "/topic/notices")
            #expect(await refusalCode { try await broker.connect("langxia-town").publish(to: "/topic/patrol", text: "x", receipt: true) } == "not-authorized")

            try broker.rewrite(topics: Self.noticesAndPatrol)
            let reload = try await runMuster(["reload", "--config", broker.configFile])
            #expect(reload.status == 0, "\(reload.output)")
            #expect(reload.output.contains("reloaded"))

            try await town.publish(to: "/topic/patrol", text: "联合巡逻 08:00", receipt: true)
            try await town.publish(to: "/topic/notices", text: "still here", receipt: true)
            #expect(try await notices.take(1).first?.bodyText == "still here", "the open subscription survived the reload")
            try await town.disconnect()
            try await listener.disconnect()
        }
    }

    @Test func policyExplainSaysWhichRuleAllowsOrRefuses() async throws {
        try await withBroker(topics: Self.notices) { broker in
            let allowed = try await runMuster(["policy", "explain", "--config", broker.configFile, "--party", "langxia-town", "--send", "/topic/notices"])
            #expect(allowed.status == 0, "\(allowed.output)")
            #expect(allowed.output.contains("allowed") && allowed.output.contains("topics[0]"), "\(allowed.output)")
            let refused = try await runMuster(["policy", "explain", "--config", broker.configFile, "--party", "discipline-inspector", "--send", "/topic/notices"])
            #expect(refused.status == 1)
            #expect(refused.output.contains("refused (not-authorized)") && refused.output.contains("auditor"), "\(refused.output)")
            let undeclared = try await runMuster(["policy", "explain", "--config", broker.configFile, "--party", "langxia-town", "--subscribe", "/topic/patrol"])
            #expect(undeclared.status == 1)
            #expect(undeclared.output.contains("default deny"), "\(undeclared.output)")
            let check = try await runMuster(["policy", "check", "--config", broker.configFile])
            #expect(check.status == 0, "\(check.output)")
            #expect(check.output.contains("policy ok"), "\(check.output)")
        }
    }

    @Test func aBrokenConfigurationIsRejectedAndTheOldPolicyStays() async throws {
        try await withBroker(topics: Self.notices) { broker in
            let town = try await broker.connect("langxia-town")
            try broker.rewrite(topics: Self.notices + "\n  - {destination: /topic/patrol, types: no-such-type, publish: all}\n")
            let outcome = try await broker.reload()
            #expect(outcome.hasPrefix("rejected"), "\(outcome)")
            #expect(outcome.contains("no-such-type"), "the rejection names the problem: \(outcome)")
            try await town.publish(to: "/topic/notices", text: "old policy", receipt: true)
            #expect(await refusalCode { try await broker.connect("langxia-town").publish(to: "/topic/patrol", text: "x", receipt: true) } == "not-authorized")

            let check = try await runMuster(["policy", "check", "--config", broker.configFile])
            #expect(check.status != 0)
            #expect(check.output.contains("no-such-type.schema.json"), "\(check.output)")
            try await town.disconnect()
        }
    }

    @Test func aRemovedPartyIsDisconnectedWithTheReason() async throws {
        try await withBroker(topics: Self.notices) { broker in
            let grid = try await broker.connect("shanta-village-grid")
            let gridNotices = try await grid.subscribe(to: "/topic/notices")
            let town = try await broker.connect("langxia-town")
            let townNotices = try await town.subscribe(to: "/topic/notices")
            let remaining = BrokerProcess.parties.filter { $0.id != "shanta-village-grid" }
            try broker.rewrite(parties: BrokerProcess.partiesText(pki: broker.pki, parties: remaining))
            #expect(try await broker.reload() == "reloaded")
            let code = await refusalCode { _ = try await gridNotices.take(1) }
            #expect(code == "identity-refused")
            try await town.publish(to: "/topic/notices", text: "after", receipt: true)
            #expect(try await townNotices.take(1).first?.bodyText == "after")
            try await town.disconnect()
        }
    }

    @Test func aRevokedCertificateIsClosedAndRefused() async throws {
        try await withBroker(topics: Self.notices) { broker in
            let files = try broker.pki.client("langxia-town")
            let options = ClientOptions(server: broker.address, identity: ClientIdentity(
                certificatePath: files.certificate, privateKeyPath: files.key, trustedAuthorityPaths: [files.authority]))
            let town = try await MusterConnection.connect(options)
            let notices = try await town.subscribe(to: "/topic/notices")
            let police = try await broker.connect("jinshan-public-security")
            let revocationList = try broker.pki.revoke(files, jurisdiction: "jinshan")
            try broker.rewrite(parties: BrokerProcess.partiesText(pki: broker.pki, revocationLists: ["jinshan": revocationList]))
            #expect(try await broker.reload() == "reloaded")
            do {
                _ = try await notices.take(1)
                Issue.record("the revoked party's connection must be closed")
            } catch let error as MusterClientError {
                #expect(error.code == "identity-refused")
                #expect("\(error)".contains("revoked"), "\(error)")
            }
            #expect(await refusalCode { _ = try await MusterConnection.connect(options) } == "identity-refused")
            #expect(await refusalCode { _ = try await broker.connect("langxia-town") } == nil, "a new certificate of the party is not revoked")
            try await police.publish(to: "/topic/notices", text: "unaffected", receipt: true)
            try await police.disconnect()
        }
    }
}
