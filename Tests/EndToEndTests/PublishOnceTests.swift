import Foundation
import MusterLog
import MusterTestSupport
import Testing

/// Idempotent publishing, as an adapter written with stomp.py (Interop/stomp_publish_once.py)
/// uses it: langxia-town blows the whistle with its own `muster-publish-id`, loses its
/// connection or the broker, and sends the same summons again. One summons is opened, and the
/// resend's RECEIPT is the original's (its offset and summons id, `muster-duplicate: true`).
@Suite("publishing once with a publisher's id")
struct PublishOnceTests {
    static let summons = """
        {"action": "open", "title": "Oil spill at Caojing dock", "description": "Booms needed before the tide.", \
        "location": {"name": "Caojing dock"}, "summoned": ["jinshan-public-security"], "severity": "high", "deadline": "PT30M"}
        """

    func publish(_ broker: BrokerProcess, id: String, mode: String = "receipt") async throws -> [String: String] {
        let files = try broker.pki.client("langxia-town", jurisdiction: "jinshan")
        let run = try await PythonScript.run("stomp_publish_once.py", [
            broker.address.host, String(broker.address.port), files.authority, files.certificate, files.key,
            "/topic/summons", "summons", id, Self.summons, mode,
        ])
        #expect(run.status == 0, "stomp.py \(mode) run failed:\n\(run.output)")
        let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return (json?["receipt"] as? [String: String]) ?? [:]
    }

    /// The summons opens stored in the log with publish id `id`: (offset, summons id).
    func storedOpens(_ broker: BrokerProcess, id: String) throws -> [(offset: UInt64, summons: String?)] {
        var found: [(UInt64, String?)] = []
        try LogArchive(dataDirectory: broker.dataDirectory).forEach { record in
            if record.kind == .message, record.header("muster-publish-id") == id { found.append((record.offset, record.header("muster-workflow-id"))) }
            return true
        }
        return found
    }

    @Test func aResendAfterTheReceiptAndAfterABrokerSIGKILLGetsTheOriginalReceiptAndNoSecondSummons() async throws {
        var broker = try await runBlocking { try BrokerProcess.start(topics: BrokerProcess.shippedTopics) }
        let directory = broker.directory
        defer { directory.remove() }
        defer { broker.kill() }

        let original = try await publish(broker, id: "langxia-2026-0042")
        let offset = try #require(original["muster-offset"], "a SEND's RECEIPT names the stored offset: \(original)")
        let summonsID = try #require(original["muster-workflow-id"], "a summons's RECEIPT names the summons: \(original)")
        #expect(original["muster-duplicate"] == nil)

        let resent = try await publish(broker, id: "langxia-2026-0042")
        #expect(resent["muster-offset"] == offset && resent["muster-workflow-id"] == summonsID, "the resend's receipt: \(resent)")
        #expect(resent["muster-duplicate"] == "true")

        broker.kill()
        broker = try broker.restart()
        let afterCrash = try await publish(broker, id: "langxia-2026-0042")
        #expect(afterCrash["muster-offset"] == offset && afterCrash["muster-workflow-id"] == summonsID,
                "after a SIGKILL and restart the resend's receipt: \(afterCrash)\n\(broker.log)")
        #expect(afterCrash["muster-duplicate"] == "true")

        // Another id is another summons.
        let other = try await publish(broker, id: "langxia-2026-0043")
        #expect(other["muster-workflow-id"] != nil && other["muster-workflow-id"] != summonsID)
        #expect(other["muster-duplicate"] == nil)

        let opens = try storedOpens(broker, id: "langxia-2026-0042")
        #expect(opens.map(\.offset) == [UInt64(offset)], "one summons open stored for the id: \(opens)")
        #expect(opens.first?.summons == summonsID)
    }

    @Test func aResendAfterACutConnectionIsStoredOnce() async throws {
        let broker = try await runBlocking { try BrokerProcess.start(topics: BrokerProcess.shippedTopics) }
        defer { broker.stop() }
        _ = try await publish(broker, id: "langxia-2026-0077", mode: "cut")
        let resent = try await publish(broker, id: "langxia-2026-0077")
        let offset = try #require(resent["muster-offset"].flatMap { UInt64($0) }, "the resend's receipt: \(resent)")
        // The broker may have read the cut SEND or not; either way the id is stored once, where the receipt says.
        let opens = try storedOpens(broker, id: "langxia-2026-0077")
        #expect(opens.map(\.offset) == [offset], "stored once, at the offset the receipt names: \(opens), receipt \(resent)")
        #expect(opens.first?.summons == resent["muster-workflow-id"])
    }
}
