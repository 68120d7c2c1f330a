import Foundation
import Logging
import MusterBroker
import MusterNet
import MusterProtocol

/// Appends every policy refusal to the audit destination: who, where, which type, which rule,
/// the code and the time, and of the refused body only its digest. The time is the broker's
/// clock (`clock`, milliseconds since 1970), the same one that stamps messages and deadlines,
/// so a broker run on a compressed or manual clock records refusals on that clock too.
enum RefusalAudit {
    static func install(on gate: PolicyGate, broker: Broker, identity: PartyIdentity,
                        clock: @escaping @Sendable () -> Int64, logger: Logger) {
        gate.onRefusal { [weak broker] refusal, body in
            logger.notice("refused", metadata: [
                "code": "\(refusal.code.rawValue)", "rule": "\(refusal.rule)",
                "party": "\(refusal.party.map(\.description) ?? "-")", "destination": "\(refusal.destination.map(\.description) ?? "-")",
            ])
            let record = RefusalRecord(refusal, time: clock(),
                                       digest: body.map { "sha256:" + SHA256Digest.hex(of: $0) }, bytes: body?.count)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let json = try? encoder.encode(record) else { return }
            let publication = Publication(destination: RefusalRecord.destination,
                                          headers: ["content-type": "application/json", ReservedHeader.type: RefusalRecord.type],
                                          body: Array(json), sender: identity)
            broker?.publishAsBroker(publication) { result in
                if case .failure(let error) = result { logger.error("cannot record a refusal in the audit destination: \(error)") }
            }
        }
    }
}
