import Foundation
import MusterLog
import MusterProtocol
import MusterTestSupport
import Testing

/// `muster federation verify` with copies of two linked brokers' logs: it passes on untouched
/// logs, and a forger's change on either side is found and located — a deleted imported record,
/// an edited copy, a record claiming a Pinghu sender inserted into Jinshan's log, and Jinshan's
/// log rewritten after Pinghu stored its checkpoint.
@Suite("muster federation verify", .tags(.federation))
struct FederationVerifyTests {
    /// Two brokers that exchanged notices both ways and a checkpoint of Jinshan's log, then stopped.
    static func exchanged() async throws -> LinkedBrokers {
        let brokers = try await LinkedBrokers.start(jinshanSettings: "log: {checkpoint-interval: 1s}")
        let langxia = try brokers.pki.client("langxia-town")
        let guangchen = try brokers.pki.client("guangchen-town", jurisdiction: "pinghu")
        for index in 1...3 {
            try await runMuster(["pub", "/topic/joint.patrol", "Jinshan patrol \(index)", "--server", "\(brokers.jinshan.address)", "--cert", langxia.certificate,
                                 "--key", langxia.key, "--ca", brokers.pki.authorityBundle]).expectSuccess("publish at Jinshan")
            try await runMuster(["pub", "/topic/joint.patrol", "Pinghu patrol \(index)", "--server", "\(brokers.pinghu.address)", "--cert", guangchen.certificate,
                                 "--key", guangchen.key, "--ca", brokers.pki.authorityBundle]).expectSuccess("publish at Pinghu")
        }
        try await eventually(timeout: .seconds(60), "both sides hold the other's patrols and Pinghu a checkpoint of Jinshan's log", pollingEvery: .milliseconds(500)) {
            let atPinghu = try await FederationCheckpointTests.records(brokers.pinghu.dataDirectory, "/topic/joint.patrol")
            let atJinshan = try await FederationCheckpointTests.records(brokers.jinshan.dataDirectory, "/topic/joint.patrol")
            let checkpoints = try await FederationCheckpointTests.records(brokers.pinghu.dataDirectory, "/topic/muster.checkpoints")
            return atPinghu.count == 6 && atJinshan.count == 6 && !checkpoints.isEmpty
        }
        // One more checkpoint, signed after the patrols were in Jinshan's log: it covers them. A
        // notice that stays in Jinshan calls for it (link bookkeeping alone does not).
        let held = try await FederationCheckpointTests.records(brokers.pinghu.dataDirectory, "/topic/muster.checkpoints").count
        try await runMuster(["pub", "/topic/local.notice", "checkpoint me", "--server", "\(brokers.jinshan.address)", "--cert", langxia.certificate,
                             "--key", langxia.key, "--ca", brokers.pki.authorityBundle]).expectSuccess("publish at Jinshan")
        try await eventually(timeout: .seconds(60), "Pinghu stores a checkpoint signed after the patrols", pollingEvery: .milliseconds(500)) {
            try await FederationCheckpointTests.records(brokers.pinghu.dataDirectory, "/topic/muster.checkpoints").count > held
        }
        brokers.halt()
        return brokers
    }

    /// Copies of both data directories, for one forgery each.
    static func copies(of brokers: LinkedBrokers) throws -> (jinshan: String, pinghu: String, directory: TemporaryDirectory) {
        let directory = try TemporaryDirectory(prefix: "muster-audit")
        for (name, source) in [("jinshan", brokers.jinshan.dataDirectory), ("pinghu", brokers.pinghu.dataDirectory)] {
            try FileManager.default.copyItem(atPath: source, toPath: directory.file(name))
        }
        return (directory.file("jinshan"), directory.file("pinghu"), directory)
    }

    static func verify(_ jinshan: String, _ pinghu: String, _ brokers: LinkedBrokers) async throws -> ProgramRun {
        try await runMuster(["federation", "verify", "--data", jinshan, "--data", pinghu, "--ca", "jinshan=\(brokers.pki.jinshanAuthority)",
                        "--ca", "pinghu=\(brokers.pki.pinghuAuthority)"])
    }

    static func body(_ record: LogRecord) -> String { String(decoding: record.body, as: UTF8.self) }

    @Test func aCAFileMustNameItsJurisdiction() async throws {
        let run = try await runMuster(["federation", "verify", "--data", "a", "--data", "b", "--ca", "ca.crt"])
        #expect(run.status != 0 && run.output.contains("--ca jinshan=ca.crt"), "\(run)")
    }

    /// Where a forgery was made, and what `muster federation verify` said of it.
    struct Forgery {
        let offset: UInt64?
        let verify: ProgramRun
    }

    /// Copies both logs, has a forger rewrite one side's: the record whose body is `body` becomes
    /// what `forge` returns (nothing, itself edited, or more records); then verifies the pair.
    static func forge(_ brokers: LinkedBrokers, inPinghu: Bool, body: String, _ forge: (LogEntry) -> [LogEntry]) async throws -> Forgery {
        let copies = try Self.copies(of: brokers)
        defer { copies.directory.remove() }
        var offset: UInt64?
        try LogForgery.rewrite(dataDirectory: inPinghu ? copies.pinghu : copies.jinshan) { record in
            guard Self.body(record) == body else { return [record.entry] }
            offset = record.offset
            return forge(record.entry)
        }
        return Forgery(offset: offset, verify: try await Self.verify(copies.jinshan, copies.pinghu, brokers))
    }

    /// `entry` with the header `name`'s value replaced by `value(old)`.
    static func replacing(_ name: String, in entry: LogEntry, _ value: (String) -> String) -> LogEntry {
        var edited = entry
        edited.headers = entry.headers.map { $0.name == name ? LogHeader($0.name, value($0.value)) : $0 }
        return edited
    }

    @Test func untouchedLogsPassAndEachForgeryIsFoundOnItsSide() async throws {
        let brokers = try await Self.exchanged()
        defer { brokers.remove() }
        let untouched = try Self.copies(of: brokers)
        defer { untouched.directory.remove() }
        let clean = try await Self.verify(untouched.jinshan, untouched.pinghu, brokers)
        #expect(clean.status == 0 && clean.stdout.contains("verified: everything that crossed is in place"), "\(clean)")
        #expect(clean.stdout.contains("pinghu → jinshan: 3 records stored and 0 refused"), "three patrols crossed to Jinshan: \(clean)")
        // Three patrols and each checkpoint of Jinshan's log (one a second while anything moved) crossed to Pinghu.
        let toPinghu = try #require(clean.stdout.firstMatch(of: /jinshan → pinghu: (\d+) records stored and 0 refused.*; (\d+) of jinshan's checkpoints held by pinghu/),
                                    "\(clean)")
        #expect(Int(toPinghu.2)! >= 1 && Int(toPinghu.1)! == 3 + Int(toPinghu.2)!, "\(clean)")
        // Pinghu signs no checkpoints here: required, the signatures are missing for its three patrols,
        // until the auditor brings a checkpoint of Pinghu's log signed by its broker.
        let unsigned = try await runMuster(["federation", "verify", "--data", untouched.jinshan, "--data", untouched.pinghu, "--require-signatures",
                                            "--ca", "jinshan=\(brokers.pki.jinshanAuthority)", "--ca", "pinghu=\(brokers.pki.pinghuAuthority)"])
        #expect(unsigned.status != 0 && unsigned.stdout.contains("3 of the records stored from pinghu") && unsigned.stdout.contains("covered by no checkpoint"),
                "\(unsigned)")
        let signed = try await runMuster(["log", "checkpoint", "--config", brokers.pinghu.configFile, "--data", untouched.pinghu])
        #expect(signed.status == 0, "\(signed)")
        let kept = untouched.directory.file("pinghu-checkpoint.json")
        try signed.stdout.write(toFile: kept, atomically: true, encoding: .utf8)
        let covered = try await runMuster(["federation", "verify", "--data", untouched.jinshan, "--data", untouched.pinghu, "--require-signatures",
                                           "--checkpoint", kept, "--ca", "jinshan=\(brokers.pki.jinshanAuthority)", "--ca", "pinghu=\(brokers.pki.pinghuAuthority)"])
        #expect(covered.status == 0 && covered.stdout.contains("covering 3 of the records stored"), "\(covered)")
        #expect(clean.stdout.contains("checkpoints held by pinghu, covering"), "\(clean)")

        // Pinghu deletes its copy of Jinshan's second patrol. Deleting it rewrote Pinghu's log:
        // that shows too, and is not blamed on Jinshan.
        let deletion = try await Self.forge(brokers, inPinghu: true, body: "Jinshan patrol 2") { _ in [] }.verify
        #expect(deletion.status != 0 && deletion.stdout.contains("FAILED pinghu: jinshan's record") && deletion.stdout.contains("neither stored nor refused"),
                "\(deletion)")
        #expect(!deletion.stdout.contains("FAILED jinshan"), "\(deletion)")

        // Pinghu edits its copy of Jinshan's third patrol.
        let edit = try await Self.forge(brokers, inPinghu: true, body: "Jinshan patrol 3") { entry in
            var edited = entry
            edited.body = Array("Jinshan patrol 3 (nothing found)".utf8)
            return [edited]
        }
        #expect(edit.verify.status != 0 && edit.verify.stdout.contains("FAILED pinghu offset \(edit.offset ?? 0): the copy of jinshan's record")
                && edit.verify.stdout.contains("(body)"), "\(edit.verify)")

        // Pinghu moves its copy of Jinshan's first patrol earlier in time (what deadlines are judged on).
        let backdating = try await Self.forge(brokers, inPinghu: true, body: "Jinshan patrol 1") { entry in
            [Self.replacing(FederationHeader.originTime, in: entry) { String((Int64($0) ?? 0) - 600_000) }]
        }.verify
        #expect(backdating.status != 0 && backdating.stdout.contains("(origin time): edited after it was imported"), "\(backdating)")

        // Pinghu alters the origin hash its copy of Jinshan's second patrol carries, to make Jinshan's log look changed:
        // Jinshan's signed checkpoint, held by Pinghu itself, covers that record, so the blame stays with Pinghu.
        let framing = try await Self.forge(brokers, inPinghu: true, body: "Jinshan patrol 2") { entry in
            [Self.replacing(FederationHeader.originHash, in: entry) { _ in String(repeating: "0", count: 64) }]
        }
        #expect(framing.verify.status != 0 && framing.verify.stdout.contains("FAILED pinghu offset \(framing.offset ?? 0): the copy of jinshan's record")
                && framing.verify.stdout.contains("the copy was altered"), "\(framing.verify)")
        #expect(!framing.verify.stdout.contains("FAILED jinshan"), "Jinshan was blamed for Pinghu's forgery: \(framing.verify)")

        // Jinshan inserts a record claiming Guangchen town as its sender.
        let insertion = try await Self.forge(brokers, inPinghu: false, body: "Jinshan patrol 1") { entry in
            var forged = Self.replacing(ReservedHeader.senderJurisdiction, in: Self.replacing(ReservedHeader.sender, in: entry) { _ in "guangchen-town" }) { _ in "pinghu" }
            forged.headers = forged.headers.filter { $0.name != FederationHeader.export }
            forged.body = Array("Guangchen town agrees to pay".utf8)
            return [entry, forged]
        }.verify
        #expect(insertion.status != 0 && insertion.stdout.contains("FAILED jinshan offset") && insertion.stdout.contains("claims the sender pinghu/guangchen-town"),
                "\(insertion)")

        // Jinshan rewrites its first patrol after Pinghu stored its checkpoint.
        let rewrite = try await Self.forge(brokers, inPinghu: false, body: "Jinshan patrol 1") { entry in
            var edited = entry
            edited.body = Array("Jinshan patrol 1 (never happened)".utf8)
            return [edited]
        }.verify
        #expect(rewrite.status != 0 && rewrite.stdout.contains("holds this log's checkpoint") && rewrite.stdout.contains("rewritten at or before"), "\(rewrite)")
        #expect(rewrite.stdout.contains("FAILED jinshan offset"), "the rewrite is located in Jinshan's log: \(rewrite)")
    }
}
