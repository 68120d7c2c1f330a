import Foundation
import MusterClient
import MusterTestSupport
import Testing

/// Jinshan, Pinghu and Jiashan, fully linked with relay on (hop limit 2): most records can reach
/// a broker by two routes, directly and relayed by the third broker, yet each is stored there
/// once. With the Jinshan–Jiashan edge cut, their records still arrive, relayed by Pinghu; once
/// the edge is restored, the direct links' backlog of the same records is not stored again, nor
/// after Jiashan's broker is killed and restarted (its origin keys are read from its log). The
/// logs are checked offline once the brokers stopped. Three brokers and six links: the federation pass.
@Suite("three brokers linked in a triangle, relaying", .tags(.federation))
struct FederationTriangleTests {
    static let destination = "/topic/joint.patrol"

    @Test func everyRecordIsStoredOnceOnEachBrokerAndArrivesByRelayWhileAnEdgeIsCut() async throws {
        let triangle = try await BrokerTriangle.start()
        defer { triangle.remove() }
        let jurisdictions = BrokerTriangle.jurisdictions
        // Each broker's township reads what arrives there and publishes its own records.
        var readers: [String: MusterConnection] = [:], publishers: [String: MusterConnection] = [:]
        var received: [String: Collected<ReceivedMessage>] = [:]
        var collectors: [Task<Void, any Error>] = []
        defer { for collector in collectors { collector.cancel() } }
        func connect(_ here: String) async throws {
            let party = BrokerTriangle.township[here]!
            let reader = try await triangle[here].connect(party, jurisdiction: here)
            let messages = try await reader.subscribe(to: Self.destination)
            let collected = received[here] ?? Collected<ReceivedMessage>()
            collectors.append(Task { for try await message in messages { collected.append(message) } })
            readers[here] = reader
            received[here] = collected
            publishers[here] = try await triangle[here].connect(party, jurisdiction: here)
        }
        for here in jurisdictions { try await connect(here) }

        var sent: [String: [String]] = [:], receipted: [String: [UInt64]] = [:]
        /// Publishes with receipts at `origin`'s broker; returns the records' offsets there.
        @discardableResult
        func publish(at origin: String, _ numbers: ClosedRange<Int>) async throws -> [UInt64] {
            var offsets: [UInt64] = []
            for number in numbers {
                let body = "\(origin) patrol \(number)"
                offsets.append(try await LinkedBrokers.publish(publishers[origin]!, to: Self.destination, body))
                sent[origin, default: []].append(body)
            }
            receipted[origin, default: []] += offsets
            return offsets
        }
        /// Each broker's records that some other broker's reader has not received yet.
        func missing() -> [String] {
            jurisdictions.flatMap { here in
                let arrived = Set(received[here]!.items.filter { $0.headers["muster-origin"] != nil }.map(\.bodyText))
                return sent.filter { $0.key != here }.values.joined().filter { !arrived.contains($0) }.map { "\($0) at \(here)" }
            }
        }
        func waitForEveryRecordEverywhere(_ phase: String) async throws {
            do {
                try await eventually(timeout: .seconds(30), "every record to reach both other brokers \(phase)", recordIssue: false) { missing().isEmpty }
            } catch {
                let now = missing()
                Issue.record("\(error); \(now.count) missing, e.g. \(now.prefix(10))")
                throw error
            }
        }

        for origin in jurisdictions { try await publish(at: origin, 1...30) }
        try await waitForEveryRecordEverywhere("with every edge up")

        // Jinshan and Jiashan reach each other only through Pinghu now.
        try await triangle.cut("jinshan", "jiashan")
        var duringCut: [String: [UInt64]] = [:]
        for origin in ["jinshan", "jiashan"] { duringCut[origin] = try await publish(at: origin, 31...40) }
        try await waitForEveryRecordEverywhere("with the Jinshan–Jiashan edge cut")

        try await triangle.restore("jinshan", "jiashan")
        for origin in jurisdictions { try await publish(at: origin, 41...50) }
        try await waitForEveryRecordEverywhere("after the edge was restored")
        // Every link, the mended edge's direct ones included, has gone past its peer's last own
        // record, so past its backlog of records that came by relay meanwhile: a copy stored
        // twice is stored by now. (A record dropped as already stored counts as taken.)
        func waitForEveryLinkToTakeItsPeersLast(_ phase: String) async throws {
            var behind: [String] = []
            do {
                try await eventually(timeout: .seconds(30), "every link to take its peer's last record \(phase)", pollingEvery: .milliseconds(250),
                                     recordIssue: false) {
                    behind = []
                    for importer in jurisdictions {
                        let taken = try await triangle.lastTaken(by: importer)
                        for exporter in jurisdictions where exporter != importer {
                            let last = receipted[exporter]!.last!
                            if (taken[exporter] ?? 0) < last { behind.append("\(importer) from \(exporter) at \(taken[exporter].map(String.init) ?? "none") of \(last)") }
                        }
                    }
                    return behind.isEmpty
                }
            } catch {
                Issue.record("\(error); links behind: \(behind)")
                throw error
            }
        }
        try await waitForEveryLinkToTakeItsPeersLast("after the edge was restored")

        // Killed and restarted, Jiashan's links resume from its log and are sent the copies they
        // dropped again: the origin keys read from its log drop them again.
        try triangle.killAndRestart("jiashan")
        try await connect("jiashan")
        for origin in jurisdictions { try await publish(at: origin, 51...55) }
        try await waitForEveryRecordEverywhere("after Jiashan's broker restarted")
        try await waitForEveryLinkToTakeItsPeersLast("after Jiashan's broker restarted")
        for reader in readers.values { try await reader.disconnect() }
        for publisher in publishers.values { try await publisher.disconnect() }
        triangle.halt()

        let archives = try Dictionary(uniqueKeysWithValues: jurisdictions.map { ($0, try triangle.archive(of: $0)) })
        let logIDs = archives.mapValues(\.logID)
        for here in jurisdictions {
            let imported = archives[here]!.imported
            let strays = imported.filter { $0.destination != Self.destination }
            let strayNames = strays.prefix(5).map { "\($0.destination) (\($0.refusal ?? "via \($0.via)"))" }
            #expect(strays.count == 0, "\(here) stored \(strays.count) imports elsewhere than \(Self.destination), e.g. \(strayNames)")
            for origin in jurisdictions where origin != here {
                let expected = receipted[origin]!.map { "\(logIDs[origin]!)/\($0)" }
                let records = imported.filter { $0.origin.hasPrefix(logIDs[origin]! + "/") }
                let keys = records.map(\.origin)
                let repeated = Dictionary(grouping: keys) { $0 }.filter { $0.value.count > 1 }.keys.sorted()
                #expect(repeated.count == 0, "\(here) stored \(repeated.count) of \(origin)'s records more than once, e.g. \(repeated.prefix(5))")
                let lost = Set(expected).subtracting(keys).sorted(), extra = Set(keys).subtracting(expected).sorted()
                #expect(lost.count == 0, "\(here) lacks \(lost.count) of \(origin)'s \(expected.count) receipted records, e.g. \(lost.prefix(5))")
                #expect(extra.count == 0, "\(here) holds records of \(origin) that were never receipted (\(extra.count)), e.g. \(extra.prefix(5))")
                // A record comes directly or through the third broker, and names its origin first.
                let third = jurisdictions.first { $0 != here && $0 != origin }!
                let routes = Set(records.map(\.via))
                #expect(routes.isSubset(of: [origin, "\(origin),\(third)"]), "\(here)'s routes for \(origin)'s records: \(routes.sorted())")
            }
            let others = logIDs.filter { $0.key != here }.values
            let unknown = imported.filter { record in !others.contains { record.origin.hasPrefix($0 + "/") } }
            #expect(unknown.count == 0, "\(here) imported records of no other broker: \(unknown.prefix(5).map(\.origin))")
        }
        // While the edge was cut, Jinshan's and Jiashan's records reached each other through Pinghu.
        for (origin, other) in [("jinshan", "jiashan"), ("jiashan", "jinshan")] {
            let keys = Set(duringCut[origin]!.map { "\(logIDs[origin]!)/\($0)" })
            let routes = archives[other]!.imported.filter { keys.contains($0.origin) }.map(\.via)
            #expect(routes.count == keys.count && routes.allSatisfy { $0 == "\(origin),pinghu" },
                    "\(other) holds \(routes.count) copies of the \(keys.count) records \(origin) published during the cut, by \(Set(routes).sorted()); each must be there once, relayed by pinghu")
        }
        for here in jurisdictions {
            let verify = try await runMuster(["log", "verify", "--data", triangle[here].dataDirectory])
            #expect(verify.succeeded, "\(here)'s log does not verify: \(verify)")
        }
    }
}
