import Foundation
import MusterTestSupport
import Testing
@testable import MusterNet

// TestPKI is shared by tests that issue certificates from several tasks at once.

@Suite("Concurrent certificate issuance")
struct ConcurrentCertificateIssuanceTests {
    @Test func concurrentCallersEachGetTheirOwnMatchingCertificateAndKey() async throws {
        let scratch = try TemporaryDirectory(prefix: "muster-issuance")
        defer { scratch.remove() }
        let pki = try TestPKI(in: scratch.path)

        let issued = try await withThrowingTaskGroup(of: ClientFiles.self) { group in
            for index in 0..<16 {
                group.addTask { try pki.client("langxia-town", jurisdiction: index.isMultiple(of: 2) ? "jinshan" : "pinghu") }
            }
            return try await group.reduce(into: [ClientFiles]()) { $0.append($1) }
        }
        #expect(Set(issued.map(\.certificate)).count == 16, "each caller gets files of its own")
        #expect(Set(issued.map(\.key)).count == 16)
        var serials: Set<String> = []
        for files in issued {
            // TLSContext refuses a key that does not belong to the certificate.
            _ = try TLSContext(role: .client, configuration: files.tls)
            serials.insert(try pki.serialNumber(ofCertificateFile: files.certificate))
        }
        #expect(serials.count == 16)
        #expect(issued.contains { $0.certificate == scratch.path + "/jinshan/langxia-town.crt" })
    }
}
