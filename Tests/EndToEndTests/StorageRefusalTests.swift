import Foundation
import MusterClient
import MusterLog
import MusterProtocol
import MusterTestSupport
import Testing

@Suite("a log that cannot grow")
struct StorageRefusalTests {
    /// Under a file-size limit log writes fail as on a full disk: the SEND that does not fit is
    /// refused with storage-failure saying what to do, and everything receipted before stays intact.
    @Test func sendThatCannotBeStoredIsRefusedAndNothingReceiptedIsLost() async throws {
        let directory = try TemporaryDirectory(prefix: "muster-full")
        defer { directory.remove() }
        let broker = try await runBlocking { try BrokerProcess.start(in: directory, fileSizeLimit: 16 * 1024) }
        var receipted: [String] = []
        var refusal: (any Error)?
        do {
            let publisher = try await broker.connect("langxia-town")
            let padding = String(repeating: "p", count: 1000)
            for sequence in 0..<100 {
                let body = "report-in \(sequence) \(padding)"
                do {
                    try await publisher.publish(to: "/topic/jinshan.reports", text: body, receipt: true)
                    receipted.append(body)
                } catch {
                    refusal = error
                    break
                }
            }
        } catch {
            Issue.record("broker output:\n\(broker.log)")
            throw error
        }
        broker.stop(removingDirectory: false)

        guard case .refused(let code, let message, _) = refusal as? MusterClientError else {
            Issue.record("expected a storage refusal, got \(String(describing: refusal))")
            return
        }
        #expect(code == "storage-failure")
        #expect(message.contains("full"), "the refusal says what to do: \(message)")
        #expect(receipted.count > 5 && receipted.count < 16, "\(receipted.count) messages fit under 16 KiB")

        var stored: [String] = []
        var identities = 0
        let verification = try LogArchive(dataDirectory: broker.dataDirectory).forEach { record in
            if record.destination == LogIdentityHeader.destination.description { identities += 1 } else { stored.append(String(decoding: record.body, as: UTF8.self)) }
            return true
        }
        #expect(identities == 1, "the log's identity record, once")
        #expect(stored == receipted, "exactly the receipted messages, in order")
        #expect(verification.tornTail == nil, "the failed write left no partial record behind")
        #expect(try LogArchive(dataDirectory: broker.dataDirectory).verify().records == receipted.count + 1)
    }
}
