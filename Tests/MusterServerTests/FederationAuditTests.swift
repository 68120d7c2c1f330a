import MusterLog
@testable import MusterServer
import Testing

/// The audit's judgement on evidence retention legitimately removed.
@Suite("federation audit")
struct FederationAuditTests {
    static func chain(_ byte: UInt8) -> ChainHash { ChainHash(bytes: [UInt8](repeating: byte, count: 32)) }

    @Test func aCopyOfARecordTheOriginsRetentionRemovedIsNoFindingButAMissingLaterOneIs() {
        var jinshan = FederationAudit.Side(identity: LogIdentity(jurisdiction: "jinshan", logID: "log-j", created: 0, offset: 0), firstOffset: 10)
        for offset in UInt64(10)...20 { jinshan.chains[offset] = Self.chain(UInt8(offset)) }
        var pinghu = FederationAudit.Side(identity: LogIdentity(jurisdiction: "pinghu", logID: "log-p", created: 0, offset: 0))
        // A copy of Jinshan's record 3 (pruned there since) and one of record 25 (which Jinshan's log never reaches).
        let content = FederationAudit.Content(sender: "jinshan/langxia-town", body: "x", headers: "", time: nil)
        pinghu.copies["log-j"] = [3: (offset: 1, originHash: Self.chain(3).hex, content: content),
                                  25: (offset: 2, originHash: Self.chain(25).hex, content: content)]
        let audit = FederationAudit.audit([jinshan, pinghu], authorities: [:])
        #expect(audit.findings.count == 1, "\(audit.findings)")
        #expect(audit.findings.first?.jurisdiction == "jinshan" && audit.findings.first?.offset == 25, "\(audit.findings)")
    }
}
