import MusterBroker
import MusterProtocol
import MusterStomp
import Synchronization

/// COMMIT: all or nothing. The broker admits every SEND of the transaction before it stores
/// any; the RECEIPTs of its SENDs, and the COMMIT's own, go out once all of them are durable,
/// and an ERROR (carrying the COMMIT's receipt id) if any could not be stored.
extension ServerSession {
    func commit(_ actions: [SessionAction], receipt: String?) {
        var publications: [Publication] = []
        var receipts: [String] = []
        for case .publish(let publication, let sendReceipt) in actions {
            publications.append(publication)
            if let sendReceipt { receipts.append(sendReceipt) }
        }
        if let receipt { receipts.append(receipt) }
        let count = publications.count, receiptIDs = receipts
        let outcome = Mutex((stored: 0, failed: false))
        for _ in publications { ordering.publishing() }
        let refusal = broker.publishTogether(publications, deferCommit: true) { [self] _, result in
            let (allStored, firstFailure) = outcome.withLock { outcome -> (Bool, Bool) in
                if case .failure = result {
                    defer { outcome.failed = true }
                    return (false, !outcome.failed)
                }
                outcome.stored += 1
                return (outcome.stored == count && !outcome.failed, false)
            }
            if allStored { for id in receiptIDs { send(.receipt(id)) } }
            if firstFailure, case .failure(let error) = result { channel.loop.execute { [self] in refuse(error, receipt: receipt) } }
            if ordering.finished() { channel.loop.execute { [self] in perform(ordering.release()) } }
        }
        if let refusal {
            for _ in publications { _ = ordering.finished() }
            return refuse(refusal, receipt: receipt)
        }
        if !publications.isEmpty { scheduleCommit() }
        for action in actions {
            if case .publish = action { continue }
            perform([action])
        }
        if publications.isEmpty, let receipt, machine?.isClosed == false { send(.receipt(receipt)) }
    }
}
