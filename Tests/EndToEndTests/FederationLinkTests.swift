import Foundation
import MusterClient
import MusterLog
import MusterTestSupport
import Testing

/// The link between two real brokers: Pinghu's broker imports what Jinshan's exports, exactly
/// once, through its policy, and resumes from its own log after cuts and restarts. The logs are
/// checked offline once both brokers stopped.
@Suite("a federation link between two brokers")
struct FederationLinkTests {
    @Test func whatJinshanExportsArrivesOnceAtPinghuWithItsSenderAndARefusalIsRecordedAndPassed() async throws {
        let brokers = try await LinkedBrokers.start(jinshanPeer: ["ack-evidence-interval: 200ms"])
        defer { brokers.remove() }
        // Jinshan's evidence, while the link is up, of how far Pinghu acknowledged.
        let auditor = try await brokers.jinshan.connect("discipline-inspector")
        let linkEvents = try await auditor.subscribe(to: "/topic/muster.federation.links")
        let acknowledged = Collected<String>()
        let evidence = Task {
            for try await event in linkEvents where event.headers["muster-link-event"] == "acknowledged" {
                acknowledged.append(event.headers["muster-link-offset"] ?? "")
            }
        }
        defer { evidence.cancel() }
        let reader = try await brokers.pinghu.connect("guangchen-town", jurisdiction: "pinghu")
        let notices = try await reader.subscribe(to: "/topic/joint.notices")
        let received = Collected<ReceivedMessage>()
        let collector = Task { for try await message in notices { received.append(message) } }
        defer { collector.cancel() }
        let town = try await brokers.jinshan.connect("langxia-town")
        var last: UInt64 = 0
        for (destination, text) in [("/topic/joint.notices", "one"), ("/topic/local.notes", "stays home"),
                                    ("/topic/joint.pinghu-only", "refused at pinghu"), ("/topic/joint.notices", "two")] {
            last = try await LinkedBrokers.publish(town, to: destination, text)
        }
        try await brokers.waitUntilPinghuTook(last)
        try await eventually("Pinghu's subscriber to receive both notices") { received.items.count >= 2 }
        try await eventually("Jinshan to record, with the link up, that Pinghu acknowledged through \(last)") { acknowledged.items.last == String(last) }
        #expect(acknowledged.items.compactMap { UInt64($0) } == acknowledged.items.compactMap { UInt64($0) }.sorted() && Set(acknowledged.items).count == acknowledged.items.count,
                "each acknowledged record moves forward: \(acknowledged.items)")
        let messages = received.items
        #expect(messages.map(\.bodyText) == ["one", "two"])
        #expect(messages.allSatisfy { $0.sender == "langxia-town" && $0.senderJurisdiction == "jinshan" }, "\(messages.map(\.headers))")
        #expect(messages.allSatisfy { $0.headers["muster-via"] == "jinshan" && $0.headers["muster-origin"] != nil })
        let status = try await LinkedBrokers.status(of: brokers.pinghu)
        #expect(status["state"] as? String == "connected")
        #expect(status["imported"] as? Int == 2)
        #expect(status["refused"] as? Int == 1)
        // How long Jinshan's log was when it sent the last record: at least one past it.
        #expect((status["peerLogHead"] as? Int).map { UInt64($0) > last } == true, "\(status)")
        try await town.disconnect()
        try await reader.disconnect()
        try await auditor.disconnect()

        // Offline: the refused record is in Pinghu's log with its reason, between the two imports.
        brokers.halt()
        let taken = try LinkedBrokers.taken(in: brokers.pinghu)
        #expect(taken.map(\.body) == ["one", "refused at pinghu", "two"])
        #expect(taken.count == 3 && taken[1].destination == "/topic/muster.import.refused")
        #expect(taken.count == 3 && taken[1].refusal?.contains("may not publish to /topic/joint.pinghu-only") == true, "\(taken)")
        #expect(taken.first?.refusal == nil && taken.last?.refusal == nil)
        let exported = try LinkedBrokers.exported(from: brokers.jinshan)
        #expect(taken.map(\.origin) == exported.offsets.map { "\(exported.logID)/\($0)" })

        // The evidence of the link in both logs: up with the other's certificate; down at Jinshan with how far Pinghu acknowledged.
        let atJinshan = try LinkedBrokers.linkEvents(in: brokers.jinshan, peer: "pinghu")
        let atPinghu = try LinkedBrokers.linkEvents(in: brokers.pinghu, peer: "jinshan")
        #expect(atJinshan.first?["muster-link-event"] == "up" && atJinshan.first?["muster-link-certificate"]?.contains("/") == true, "\(atJinshan)")
        #expect(atPinghu.first?["muster-link-event"] == "up" && atPinghu.first?["muster-link-certificate"]?.contains("/") == true, "\(atPinghu)")
        #expect(atJinshan.contains { $0["muster-link-event"] == "down" && $0["muster-link-offset"] == exported.offsets.last.map(String.init) },
                "Jinshan records how far Pinghu acknowledged: \(atJinshan)")
    }

    @Test func importsFailingPinghusSchemaAdmissionListOrVouchingAreRecordedTheLinkMovesOnAndJinshanHearsWhy() async throws {
        let brokers = try await LinkedBrokers.start()
        defer { brokers.remove() }
        let complaint = try String(contentsOfFile: BrokerProcess.schemasDirectory + "/complaint.schema.json", encoding: .utf8)
        let example = try #require((try JSONSerialization.jsonObject(with: Data(complaint.utf8)) as? [String: Any])?["examples"] as? [Any]).first
        let valid = String(decoding: try JSONSerialization.data(withJSONObject: try #require(example)), as: UTF8.self)
        let auditor = try await brokers.jinshan.connect("discipline-inspector")
        let audit = try await auditor.subscribe(to: "/topic/muster.audit.refusals")
        let heard = Collected<[String: String]>()
        let collector = Task {
            for try await message in audit {
                if let object = try? JSONSerialization.jsonObject(with: Data(message.body)) as? [String: Any],
                   object["rule"] as? String == "federation: import at pinghu" { heard.append(object.compactMapValues { $0 as? String }) }
            }
        }
        defer { collector.cancel() }
        let town = try await brokers.jinshan.connect("langxia-town")
        // A Pinghu party publishing at Jinshan's broker: Jinshan may not vouch for it at Pinghu.
        let visitor = try await brokers.jinshan.connect("guangchen-town", jurisdiction: "pinghu")
        try await LinkedBrokers.publish(town, to: "/topic/joint.complaints", "not a complaint")
        try await LinkedBrokers.publish(town, to: "/topic/joint.tasks", valid)
        try await LinkedBrokers.publish(visitor, to: "/topic/joint.notices", "from a visitor")
        let last = try await LinkedBrokers.publish(town, to: "/topic/joint.complaints", valid)
        try await brokers.waitUntilPinghuTook(last)
        let status = try await LinkedBrokers.status(of: brokers.pinghu)
        #expect(status["refused"] as? Int == 3 && status["imported"] as? Int == 1, "\(status)")
        // Jinshan records Pinghu's notices as refusals of its senders' messages.
        try await eventually("Jinshan to record Pinghu's three refusals") { heard.items.count >= 3 }
        let notices = heard.items
        #expect(notices.map { $0["party"] } == ["langxia-town", "langxia-town", "guangchen-town"], "\(notices)")
        #expect(notices.map { $0["code"] } == ["schema-violation", "not-admitted", "not-authorized"], "\(notices)")
        try await auditor.disconnect()
        try await town.disconnect()
        try await visitor.disconnect()
        brokers.halt()

        let taken = try LinkedBrokers.taken(in: brokers.pinghu)
        #expect(taken.map { $0.refusal == nil } == [false, false, false, true], "\(taken)")
        let reasons = taken.compactMap(\.refusal)
        for (index, fragment) in ["does not match its schema", "not on the admission list", "vouches only for its own jurisdiction"].enumerated() {
            #expect(reasons.count == 3 && reasons[index].contains(fragment), "\(reasons)")
        }
        let recorded = try LinkedBrokers.refusals(in: brokers.jinshan).filter { ($0["rule"] as? String) == "federation: import at pinghu" }
        #expect(recorded.count == 3, "in Jinshan's log: \(recorded)")
    }

    @Test func afterCutsABlackholeAndARestartOfPinghuEveryRecordIsImportedOnceAndInOrder() async throws {
        let brokers = try await LinkedBrokers.start()
        defer { brokers.remove() }
        let town = try await brokers.jinshan.connect("langxia-town")
        var last: UInt64 = 0
        func publish(_ range: ClosedRange<Int>) async throws {
            for number in range { last = try await LinkedBrokers.publish(town, to: "/topic/joint.patrol", "patrol \(number)") }
        }
        try await publish(1...20)
        try await brokers.waitUntilPinghuTook(last)

        try await brokers.proxy.cut()
        try await publish(21...40)
        brokers.proxy.blackhole()
        try await publish(41...60)
        brokers.proxy.pass()
        try await brokers.proxy.cut()
        try await brokers.waitUntilPinghuTook(last)

        brokers.pinghu.kill()
        try await publish(61...80)
        brokers.pinghu = try brokers.pinghu.restart()
        try await publish(81...100)
        try await brokers.waitUntilPinghuTook(last)
        #expect(brokers.pinghu.log.contains("federation link position"), "\(brokers.pinghu.log)")
        try await town.disconnect()

        brokers.halt()
        let taken = try LinkedBrokers.taken(in: brokers.pinghu)
        #expect(taken.count == 100, "\(taken.count - 100) more than exported")
        #expect(taken.map(\.body) == (1...100).map { "patrol \($0)" })
        let exported = try LinkedBrokers.exported(from: brokers.jinshan)
        #expect(taken.map(\.origin) == exported.offsets.map { "\(exported.logID)/\($0)" })
    }

    /// Jinshan keeps its log for one second; Pinghu is down longer than that, while Jinshan
    /// stores 300 exported records and then enough local ones that only those are left. The
    /// exported records pruned before Pinghu took them are a gap recorded on both sides; the link
    /// goes on after it, and survives a reconnect although the last record it took is gone.
    @Test func recordsPrunedBeforeTheLinkTookThemAreAGapRecordedOnBothSides() async throws {
        let brokers = try await LinkedBrokers.start(jinshanSettings: "log: {segment-size: 64KiB, retention: [{destination: \"*\", max-age: 1s}]}")
        defer { brokers.remove() }
        let town = try await brokers.jinshan.connect("langxia-town")
        try await brokers.waitUntilPinghuTook(try await LinkedBrokers.publish(town, to: "/topic/joint.patrol", "before"))
        brokers.pinghu.kill()
        let filler = String(repeating: "巡", count: 400)
        for number in 1...300 { try await LinkedBrokers.publish(town, to: "/topic/joint.patrol", "\(number) \(filler)") }
        for _ in 1...100 { try await LinkedBrokers.publish(town, to: "/topic/local.notes", filler) }
        try await town.disconnect()
        // Retention is by age on the log's own (wall) clock: let the records grow old, then
        // restart Jinshan, whose log applies retention as it opens.
        try await Task.sleep(for: .milliseconds(1200))
        #expect(brokers.jinshan.stop(removingDirectory: false) == 0)
        try brokers.restartJinshan()
        #expect(brokers.jinshan.log.contains("retention deleted segment"), "\(brokers.jinshan.log)")
        try brokers.restartPinghu()
        try await eventually(timeout: .seconds(60), "Pinghu to record the gap") { (try await LinkedBrokers.status(of: brokers.pinghu))["gaps"] as? Int == 1 }
        let status = try await LinkedBrokers.status(of: brokers.pinghu)
        #expect((status["lastError"] as? String)?.contains("were pruned before this link took them") == true, "\(status)")

        // The last record taken (the gap's end) is gone at Jinshan: a reconnect must not read that as a fork.
        let reconnects = status["reconnects"] as? Int ?? 0
        try await brokers.proxy.cut()
        try await eventually("Pinghu's link to reconnect") {
            let now = try await LinkedBrokers.status(of: brokers.pinghu)
            return now["reconnects"] as? Int ?? 0 > reconnects && now["state"] as? String == "connected"
        }
        let again = try await brokers.jinshan.connect("langxia-town")
        try await brokers.waitUntilPinghuTook(try await LinkedBrokers.publish(again, to: "/topic/joint.patrol", "after"))
        try await again.disconnect()
        #expect((try await LinkedBrokers.status(of: brokers.pinghu))["alarm"] == nil)

        brokers.halt()
        var importerGaps: [String] = [], exporterGaps: [String] = []
        try LogArchive(dataDirectory: brokers.pinghu.dataDirectory).forEach { record in
            if record.destination == "/topic/muster.import.gaps", let gap = record.header("muster-gap") { importerGaps.append(gap) }
            return true
        }
        try LogArchive(dataDirectory: brokers.jinshan.dataDirectory).forEach { record in
            if record.destination == "/topic/muster.export.gaps", record.header("muster-gap-peer") == "pinghu", let gap = record.header("muster-gap") {
                exporterGaps.append(gap)
            }
            return true
        }
        #expect(importerGaps.count == 1 && importerGaps == exporterGaps, "importer \(importerGaps), exporter \(exporterGaps)")
        let taken = try LinkedBrokers.taken(in: brokers.pinghu)
        #expect(taken.map(\.body) == ["before", "after"], "\(taken.count) taken")
    }

    /// Jinshan's broker is restored from an older backup of its data (same log id, fewer
    /// records) and goes on publishing: its new records reuse offsets Pinghu already took. The
    /// link halts with a fork alarm instead of importing them, and stays halted.
    @Test func anExporterRestoredFromAnOlderBackupHaltsTheLinkWithAForkAlarm() async throws {
        let brokers = try await LinkedBrokers.start()
        defer { brokers.remove() }
        var town = try await brokers.jinshan.connect("langxia-town")
        for number in 1...3 { _ = try await LinkedBrokers.publish(town, to: "/topic/joint.patrol", "original \(number)") }
        try await town.disconnect()
        #expect(brokers.jinshan.stop(removingDirectory: false) == 0)
        let backup = brokers.jinshan.directory.file("backup")
        try FileManager.default.copyItem(atPath: brokers.jinshan.dataDirectory, toPath: backup)
        try brokers.restartJinshan()
        town = try await brokers.jinshan.connect("langxia-town")
        var last: UInt64 = 0
        for number in 4...6 { last = try await LinkedBrokers.publish(town, to: "/topic/joint.patrol", "original \(number)") }
        try await brokers.waitUntilPinghuTook(last)
        try await town.disconnect()

        brokers.jinshan.kill()
        try FileManager.default.removeItem(atPath: brokers.jinshan.dataDirectory)
        try FileManager.default.moveItem(atPath: backup, toPath: brokers.jinshan.dataDirectory)
        try brokers.restartJinshan()
        town = try await brokers.jinshan.connect("langxia-town")
        for number in 1...5 { _ = try await LinkedBrokers.publish(town, to: "/topic/joint.patrol", "rewritten \(number)") }
        try await town.disconnect()
        try await eventually(timeout: .seconds(30), "Pinghu's link to halt") {
            (try await LinkedBrokers.status(of: brokers.pinghu))["state"] as? String == "halted"
        }
        let status = try await LinkedBrokers.status(of: brokers.pinghu)
        #expect((status["alarm"] as? String)?.contains("fork") == true, "\(status)")
        #expect(brokers.pinghu.log.contains("federation link halted"), "\(brokers.pinghu.log)")

        brokers.halt()
        let taken = try LinkedBrokers.taken(in: brokers.pinghu)
        #expect(taken.map(\.body) == (1...6).map { "original \($0)" }, "\(taken.map(\.body))")
    }

    /// Reloads that change Pinghu's link settings restart the link while Jinshan publishes: the
    /// old link's records in flight are stored before the new one looks for the position.
    @Test func reloadsThatRestartTheLinkUnderTrafficImportEveryRecordOnce() async throws {
        let brokers = try await LinkedBrokers.start()
        defer { brokers.remove() }
        let config = brokers.pinghu.configFile
        let original = try String(contentsOfFile: config, encoding: .utf8)
        let published = Collected<UInt64>()
        let publishing = Task {
            let town = try await brokers.jinshan.connect("langxia-town")
            for number in 1...300 { published.append(try await LinkedBrokers.publish(town, to: "/topic/joint.patrol", "patrol \(number)")) }
            try await town.disconnect()
            return published.items.last ?? 0
        }
        // Each reload comes while Jinshan is still publishing.
        for (prefetch, after) in [(7, 40), (50, 100), (3, 160), (1000, 220)] {
            try await eventually(timeout: .seconds(60), "Jinshan to have stored \(after) records") { published.items.count >= after }
            let changed = original.replacingOccurrences(of: "      import:", with: "      prefetch: \(prefetch)\n      import:")
            try changed.write(toFile: config, atomically: true, encoding: .utf8)
            #expect(try await brokers.pinghu.reload() == "reloaded")
        }
        let last = try await publishing.value
        try await brokers.waitUntilPinghuTook(last)
        #expect(brokers.pinghu.log.components(separatedBy: "federation link position").count - 1 == 10, "each reload started a new link (two lanes)")

        brokers.halt()
        let taken = try LinkedBrokers.taken(in: brokers.pinghu)
        #expect(taken.map(\.body) == (1...300).map { "patrol \($0)" }, "\(taken.count) taken")
    }

    /// Pinghu's disk fills up (a file-size limit) while Jinshan exports: the link stops taking
    /// records and says why, and once Pinghu has room again (restarted without the limit) every
    /// record is imported once and in order. (A failed import once let later ones be stored past
    /// it, in a new segment under the limit; a restart then resumed after them and lost it.)
    @Test
    func anImporterWhoseDiskIsFullStopsTakingRecordsAndLosesNoneOnceItHasRoom() async throws {
        let brokers = try await LinkedBrokers.start(pinghuFileSizeLimit: 48 * 1024)
        defer { brokers.remove() }
        let town = try await brokers.jinshan.connect("langxia-town")
        let padding = String(repeating: "p", count: 1000)
        var last: UInt64 = 0
        for number in 1...120 { last = try await LinkedBrokers.publish(town, to: "/topic/joint.patrol", "patrol \(number) \(padding)") }
        try await town.disconnect()
        try await eventually(timeout: .seconds(30), "Pinghu's link to report that it cannot store") {
            ((try await LinkedBrokers.status(of: brokers.pinghu))["lastError"] as? String)?.contains("cannot store") == true
        }
        #expect(brokers.pinghu.stop(removingDirectory: false) == 0)
        try brokers.restartPinghu()
        try await brokers.waitUntilPinghuTook(last)

        brokers.halt()
        let numbers = try LinkedBrokers.taken(in: brokers.pinghu).map { Int($0.body.split(separator: " ")[1]) ?? -1 }
        #expect(numbers == Array(1...120), "taken: \(numbers)")
    }
}
