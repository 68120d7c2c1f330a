import Foundation
import MusterLog
import MusterProtocol
import MusterTestSupport
import Testing

/// A broker records its log's identity once: the first record of a new log, the same after a
/// restart and after a SIGKILL, and `muster log verify` names it.
@Suite("log identity of a running broker")
struct LogIdentityEndToEndTests {
    @Test func aBrokerRecordsItsLogsIdentityOnceAndKeepsItAcrossRestarts() async throws {
        var broker = try await runBlocking { try BrokerProcess.start() }
        let directory = broker.directory
        defer { directory.remove() }
        defer { broker.kill() }
        #expect(broker.log.contains("log identity recorded"), "a new log gets its identity:\n\(broker.log)")

        broker.kill()
        broker = try broker.restart()
        #expect(!broker.log.contains("log identity recorded"), "a restart records no second identity:\n\(broker.log)")
        #expect(broker.stop(removingDirectory: false) == 0, "a SIGTERM right after start stops the broker gracefully:\n\(broker.log)")

        var identities: [LogRecord] = []
        try LogArchive(dataDirectory: broker.dataDirectory).forEach { record in
            if record.destination == LogIdentityHeader.destination.description { identities.append(record) }
            return true
        }
        #expect(identities.map(\.offset) == [0])
        let logID = try #require(identities.first?.header(LogIdentityHeader.logID))
        #expect(identities.first?.header(LogIdentityHeader.jurisdiction) == "jinshan")

        let verify = try await runMusterLogVerify(dataDirectory: broker.dataDirectory)
        #expect(verify.status == 0)
        #expect(verify.output.contains("log \(logID) of jurisdiction jinshan, identity record at offset 0"), "muster log verify said:\n\(verify.output)")
    }
}
