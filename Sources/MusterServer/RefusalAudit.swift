import Dispatch
import Foundation
import Logging
import MusterBroker
import MusterNet
import MusterProtocol
import Synchronization

/// Appends policy refusals to the audit destination: who, from where, where to, which type,
/// which rule, the code and the time, and of the refused body only its digest. Refused
/// connections are throttled per kind (`RefusalThrottle`): the first in an interval at once,
/// then one summary with the count. The time is the broker's clock (`clock`, milliseconds since
/// 1970), the one that stamps messages and deadlines, so a broker run on a compressed or manual
/// clock records refusals on that clock too.
final class RefusalAudit: @unchecked Sendable {
    private let broker: Broker
    private let identity: PartyIdentity
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let throttle: Mutex<RefusalThrottle>
    private let timer: any DispatchSourceTimer

    static func install(on gate: PolicyGate, broker: Broker, identity: PartyIdentity,
                        clock: @escaping @Sendable () -> Int64, logger: Logger, throttle: RefusalThrottle = RefusalThrottle()) {
        let audit = RefusalAudit(broker: broker, identity: identity, clock: clock, logger: logger, throttle: throttle)
        gate.onRefusal { refusal, body in audit.record(refusal, body: body) }
    }

    private init(broker: Broker, identity: PartyIdentity, clock: @escaping @Sendable () -> Int64, logger: Logger, throttle: RefusalThrottle) {
        self.broker = broker
        self.identity = identity
        self.clock = clock
        self.logger = logger
        self.throttle = Mutex(throttle)
        // Summaries are looked for a few times per interval (of the broker's clock, which may run fast in tests).
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "muster-refusal-summaries", qos: .utility))
        let period = max(10, Int(throttle.interval / 4))
        timer.schedule(deadline: .now() + .milliseconds(period), repeating: .milliseconds(period), leeway: .milliseconds(period / 10))
        timer.setEventHandler { [weak self] in self?.writeSummaries() }
        timer.resume()
    }

    deinit { timer.cancel() }

    private func record(_ refusal: PolicyRefusal, body: [UInt8]?) {
        logger.notice("refused", metadata: [
            "code": "\(refusal.code.rawValue)", "rule": "\(refusal.rule)", "source": "\(refusal.source ?? "-")",
            "party": "\(refusal.party.map(\.description) ?? "-")", "destination": "\(refusal.destination.map(\.description) ?? "-")",
            "reason": "\(refusal.error.message)",
        ])
        ServerMetrics.refused(code: refusal.code.rawValue)
        let now = clock()
        guard throttle.withLock({ $0.admit(refusal, now: now) }) else { return }
        append(RefusalRecord(refusal, time: now, digest: body.map { "sha256:" + SHA256Digest.hex(of: $0) }, bytes: body?.count))
    }

    private func writeSummaries() {
        let now = clock()
        for summary in throttle.withLock({ $0.due(now: now) }) {
            append(RefusalRecord(summary.first, time: now, digest: nil, bytes: nil, repeated: summary.repeated, since: summary.since))
        }
    }

    private func append(_ record: RefusalRecord) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let json = try? encoder.encode(record) else { return }
        let publication = Publication(destination: RefusalRecord.destination,
                                      headers: ["content-type": "application/json", ReservedHeader.type: RefusalRecord.type],
                                      body: Array(json), sender: identity)
        broker.publishAsBroker(publication) { [logger] result in
            if case .failure(let error) = result { logger.error("cannot record a refusal in the audit destination: \(error)") }
        }
    }
}
