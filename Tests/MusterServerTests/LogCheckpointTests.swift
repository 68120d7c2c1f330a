import Dispatch
import Foundation
import MusterFederation
import MusterBroker
import MusterLog
import MusterNet
import MusterStomp
import MusterProtocol
@testable import MusterServer
import MusterTestSupport
import Synchronization
import Testing

/// A broker signs its log's head; an auditor holding the checkpoint and the jurisdiction's CA
/// checks it, and later checks a copy of the log against it.
@Suite("signed log checkpoints")
struct LogCheckpointTests {
    static let broker = PartyIdentity(jurisdiction: "jinshan", party: "broker")

    /// A log with its identity and `count` more records.
    static func log(in directory: TemporaryDirectory, count: Int) throws {
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        defer { log.close() }
        _ = try LogIdentity.establish(log: log, dataDirectory: directory.path, jurisdiction: "jinshan", broker: broker, clock: { 1_000 })
        try append(count, to: log)
    }

    static func append(_ count: Int, to log: MessageLog) throws {
        let done = DispatchSemaphore(value: 0)
        let failures = Mutex(0)
        for index in 0..<count {
            log.append(LogEntry(destination: "/topic/notices", headers: [], body: Array("notice \(index)".utf8))) { result in
                if case .failure = result { failures.withLock { $0 += 1 } }
                done.signal()
            }
        }
        for _ in 0..<count { done.wait() }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test func aCheckpointSignedByTheBrokerHoldsWithItsJurisdictionsCAAndNoOther() throws {
        let directory = try TemporaryDirectory(prefix: "muster-checkpoint")
        defer { directory.remove() }
        let pki = try TestPKI(in: directory.file("pki"))
        let brokerFiles = try pki.brokerCertificate(jurisdiction: "jinshan")
        try Self.log(in: directory, count: 5)
        let checkpoint = try LogCheckpoint.sign(dataDirectory: directory.path, certificateFile: brokerFiles.certificate, privateKeyFile: brokerFiles.key)
        #expect(checkpoint.offset == 5 && checkpoint.jurisdiction == "jinshan" && checkpoint.logID == LogIdentity.read(dataDirectory: directory.path)?.logID)
        #expect(try checkpoint.verify(authorityFiles: [pki.jinshanAuthority]).get() == Self.broker)
        guard case .failure(let otherCA) = checkpoint.verify(authorityFiles: [pki.pinghuAuthority]) else {
            Issue.record("Pinghu's CA vouched for Jinshan's broker")
            return
        }
        #expect(otherCA.description.contains("does not chain"))
        // The certificate is judged as of the checkpoint's time: signed (it claims) a year before the certificate was issued, it fails.
        let early = LogCheckpoint(format: checkpoint.format, logID: checkpoint.logID, jurisdiction: checkpoint.jurisdiction, offset: checkpoint.offset,
                                  chain: checkpoint.chain, time: checkpoint.time - 365 * 86_400_000, certificate: checkpoint.certificate,
                                  signature: checkpoint.signature)
        guard case .failure(let tooEarly) = early.verify(authorityFiles: [pki.jinshanAuthority]) else {
            Issue.record("a checkpoint dated before its certificate held")
            return
        }
        #expect(tooEarly.description.contains("not yet valid"), "\(tooEarly)")
        // Its JSON form, as `muster log checkpoint` prints it, reads back the same.
        let decoded = try JSONDecoder().decode(LogCheckpoint.self, from: try JSONEncoder().encode(checkpoint))
        #expect(decoded == checkpoint)
    }

    @Test func anAlteredFieldOrASignerThatIsNotTheJurisdictionsBrokerFails() throws {
        let directory = try TemporaryDirectory(prefix: "muster-checkpoint")
        defer { directory.remove() }
        let pki = try TestPKI(in: directory.file("pki"))
        let brokerFiles = try pki.brokerCertificate(jurisdiction: "jinshan")
        try Self.log(in: directory, count: 3)
        let checkpoint = try LogCheckpoint.sign(dataDirectory: directory.path, certificateFile: brokerFiles.certificate, privateKeyFile: brokerFiles.key)
        let json = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(checkpoint)) as? [String: Any])
        for (field, value) in [("offset", 2 as Any), ("time", checkpoint.time + 1), ("jurisdiction", "pinghu"), ("logId", "0123")] {
            var altered = json
            altered[field] = value
            let forged = try JSONDecoder().decode(LogCheckpoint.self, from: try JSONSerialization.data(withJSONObject: altered))
            guard case .failure(let error) = forged.verify(authorityFiles: [pki.jinshanAuthority, pki.pinghuAuthority]) else {
                Issue.record("a checkpoint with \(field) altered holds")
                continue
            }
            #expect(error.description.contains("does not match") || error.description.contains("not by muster://pinghu/broker"), "\(field): \(error)")
        }
        // A party's own certificate (not the broker's) cannot speak for the log.
        let party = try pki.client("langxia-town")
        let byParty = try LogCheckpoint.sign(dataDirectory: directory.path, certificateFile: party.certificate, privateKeyFile: party.key)
        guard case .failure(let error) = byParty.verify(authorityFiles: [pki.jinshanAuthority]) else {
            Issue.record("a party's signature stood for the log")
            return
        }
        #expect(error.description.contains("not by muster://jinshan/broker"), "\(error)")
        // A key that is not the certificate's is refused before anything is signed.
        #expect(throws: (any Error).self) {
            try LogCheckpoint.sign(dataDirectory: directory.path, certificateFile: brokerFiles.certificate, privateKeyFile: party.key)
        }
    }

    @Test func aCopyOfTheLogWithoutTheSignedRecordsOrOfAnotherLogDoesNotMatch() throws {
        let directory = try TemporaryDirectory(prefix: "muster-checkpoint")
        defer { directory.remove() }
        let pki = try TestPKI(in: directory.file("pki"))
        let brokerFiles = try pki.brokerCertificate(jurisdiction: "jinshan")
        try Self.log(in: directory, count: 3)
        // The state before the last records, kept aside (a log whose tail was later deleted).
        let before = try TemporaryDirectory(prefix: "muster-checkpoint-before")
        defer { before.remove() }
        try FileManager.default.removeItem(atPath: before.path)
        try FileManager.default.copyItem(atPath: directory.path, toPath: before.path)
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        try Self.append(4, to: log)
        log.close()
        let checkpoint = try LogCheckpoint.sign(dataDirectory: directory.path, certificateFile: brokerFiles.certificate, privateKeyFile: brokerFiles.key)
        let head = try #require(checkpoint.head)
        #expect(try LogArchive(dataDirectory: directory.path).verify(expectHead: head).head == head)
        #expect(throws: LogError.self, "records the checkpoint covers are missing") {
            _ = try LogArchive(dataDirectory: before.path).verify(expectHead: head)
        }
        let other = try TemporaryDirectory(prefix: "muster-checkpoint-other")
        defer { other.remove() }
        try Self.log(in: other, count: 7)
        #expect(throws: CheckpointError.self, "another log with as many records") { try checkpoint.checkIdentity(of: other.path) }
        try checkpoint.checkIdentity(of: before.path)
    }
}

extension LogCheckpointTests {
    @Test func aLinkStoresOnlyCheckpointsOfItsPeersLogThatHoldWithThePeersCA() throws {
        let directory = try TemporaryDirectory(prefix: "muster-checkpoint-import")
        defer { directory.remove() }
        let pki = try TestPKI(in: directory.file("pki"))
        let jinshanBroker = try pki.brokerCertificate(jurisdiction: "jinshan")
        let pinghuBroker = try pki.brokerCertificate(jurisdiction: "pinghu")
        let chain = String(repeating: "ab", count: 32)
        let fromJinshan = try LogCheckpoint.sign(logID: "log-j", jurisdiction: "jinshan", offset: 9, chain: chain, time: WallClockReading.now(),
                                                 certificateFile: jinshanBroker.certificate, privateKeyFile: jinshanBroker.key)
        let jinshanPeer = FederationPeer(jurisdiction: "jinshan", address: nil, authorityPath: pki.jinshanAuthority, exports: [], imports: [])
        #expect(LogCheckpoint.importRefusal(fromJinshan.json, from: jinshanPeer, linkLogID: "log-j") == nil)
        let misconfigured = FederationPeer(jurisdiction: "jinshan", address: nil, authorityPath: pki.pinghuAuthority, exports: [], imports: [])
        #expect(LogCheckpoint.importRefusal(fromJinshan.json, from: misconfigured, linkLogID: "log-j")?.code == .identityRefused)
        let ofPinghu = try LogCheckpoint.sign(logID: "log-p", jurisdiction: "pinghu", offset: 9, chain: chain, time: WallClockReading.now(),
                                              certificateFile: pinghuBroker.certificate, privateKeyFile: pinghuBroker.key)
        #expect(LogCheckpoint.importRefusal(ofPinghu.json, from: jinshanPeer, linkLogID: "log-j")?.code == .notAuthorized, "Jinshan's link passing on Pinghu's checkpoint")
        #expect(LogCheckpoint.importRefusal(Array("{}".utf8), from: jinshanPeer, linkLogID: "log-j")?.code == .schemaViolation)
        // A checkpoint whose head was changed after signing.
        let moved = LogCheckpoint(logID: fromJinshan.logID, jurisdiction: "jinshan", offset: 10, chain: chain, time: fromJinshan.time,
                                  certificate: fromJinshan.certificate, signature: fromJinshan.signature)
        #expect(LogCheckpoint.importRefusal(moved.json, from: jinshanPeer, linkLogID: "log-j")?.code == .identityRefused)
        // Nothing rides along: not another log of Jinshan's, not an extra key in the JSON.
        #expect(LogCheckpoint.importRefusal(fromJinshan.json, from: jinshanPeer, linkLogID: "log-j2")?.code == .notAuthorized)
        var padded = try #require(try JSONSerialization.jsonObject(with: Data(fromJinshan.json)) as? [String: Any])
        padded["note"] = "anything at all"
        #expect(LogCheckpoint.importRefusal(Array(try JSONSerialization.data(withJSONObject: padded, options: [.sortedKeys])), from: jinshanPeer,
                                            linkLogID: "log-j")?.code == .schemaViolation)
        // The stored copy keeps the link's headers and the checkpoint's, not what else the peer sent.
        var headers = StompHeaders()
        headers["muster-type"] = "summons"
        headers["muster-publish-id"] = "smuggled"
        headers["muster-origin"] = "log-j/9"
        let copy = LogCheckpoint.importedCopy(Publication(destination: CheckpointHeader.destination, headers: headers, body: fromJinshan.json,
                                                          sender: PartyIdentity(jurisdiction: "jinshan", party: "test-broker")))
        #expect(copy.headers["muster-type"] == nil && copy.headers["muster-publish-id"] == nil && copy.headers["muster-origin"] == "log-j/9")
        #expect(copy.headers[CheckpointHeader.head] == "9:\(chain)")
    }
}

enum WallClockReading {
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

extension LogCheckpointTests {
    @Test func aBrokerCertificateFromAnIntermediateCAHoldsWithTheRootWhenItsChainComesWithIt() throws {
        let directory = try TemporaryDirectory(prefix: "muster-checkpoint-chain")
        defer { directory.remove() }
        let pki = try TestPKI(in: directory.file("pki"))
        let root = try CertificateAuthority(certificatePath: pki.jinshanAuthority, keyPath: directory.file("pki/jinshan/ca.key"))
        try root.issue(commonName: "Jinshan issuing CA", usage: .certificateAuthority)
            .write(certificateTo: directory.file("issuing.crt"), keyTo: directory.file("issuing.key"))
        let issuing = try CertificateAuthority(certificatePath: directory.file("issuing.crt"), keyPath: directory.file("issuing.key"))
        let broker = try issuing.issue(commonName: "jinshan broker", usage: .broker, uriNames: ["muster://jinshan/broker"])
        try broker.write(certificateTo: directory.file("leaf.crt"), keyTo: directory.file("broker.key"))
        // As TLS serves it: the broker's certificate, then the intermediate.
        try (broker.certificatePEM + (try String(contentsOfFile: directory.file("issuing.crt"), encoding: .utf8)))
            .write(toFile: directory.file("broker-chain.crt"), atomically: true, encoding: .utf8)
        let chain = String(repeating: "cd", count: 32)
        let checkpoint = try LogCheckpoint.sign(logID: "log-j", jurisdiction: "jinshan", offset: 4, chain: chain, time: WallClockReading.now(),
                                                certificateFile: directory.file("broker-chain.crt"), privateKeyFile: directory.file("broker.key"))
        #expect(try checkpoint.verify(authorityFiles: [pki.jinshanAuthority]).get() == Self.broker)
        // Without the intermediate, the root cannot vouch for the broker.
        let leafOnly = try LogCheckpoint.sign(logID: "log-j", jurisdiction: "jinshan", offset: 4, chain: chain, time: WallClockReading.now(),
                                              certificateFile: directory.file("leaf.crt"), privateKeyFile: directory.file("broker.key"))
        guard case .failure(let error) = leafOnly.verify(authorityFiles: [pki.jinshanAuthority]) else {
            Issue.record("a broker certificate held without its intermediate CA")
            return
        }
        #expect(error.description.contains("does not chain"), "\(error)")
    }
}
