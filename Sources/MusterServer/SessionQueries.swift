import Dispatch
import MusterBroker
import MusterProtocol
import MusterWorkflow

/// Answers a connection's queries: acknowledgements pending and one message's delivery history
/// (only what the asking party may subscribe to, and the history of its own messages), and the
/// workflows' lists, cases and assessment. The history reads the log off the event loop.
struct SessionQueries: Sendable {
    let broker: Broker
    /// Answers workflow queries (nil: this broker runs no workflows).
    let workflows: WorkflowDesk?
    /// Reads delivery histories (nil: this broker keeps no log).
    let history: (any MessageHistory)?
    let policy: PolicyGate?
    /// Signs the log's head when an auditor asks (nil: this broker keeps no log).
    var checkpoints: CheckpointRecorder? = nil

    /// Calls `reply` with the answer's JSON body or `refuse` with why not, on this thread or,
    /// for a history, on a reader thread.
    func answer(_ query: AckQuery, from party: PartyIdentity, reply: @escaping @Sendable ([UInt8]) -> Void,
                refuse: @escaping @Sendable (BrokerError) -> Void) {
        let gate = broker.gate
        switch query.kind {
        case .summonsList, .summonsShow, .handoffList, .handoffShow, .operationList, .assessment:
            guard let workflows else { return refuse(BrokerError(.invalidQuery, "this broker runs no workflows")) }
            switch WorkflowQueryAnswer.answer(query, party: party, kind: policy?.policy.parties[party]?.kind, desk: workflows) {
            case .success(let body): reply(body)
            case .failure(let error): refuse(error)
            }
        case .checkpoint:
            guard let checkpoints else { return refuse(BrokerError(.storageFailure, "this broker keeps no log to sign")) }
            guard policy?.policy.parties[party]?.kind == .auditor else {
                return refuse(BrokerError(.notAuthorized, "\(party) may not ask for a signed checkpoint: auditors ask (party kind auditor)"))
            }
            // Signing reads the key file: off the event loop.
            DispatchQueue.global().async {
                checkpoints.recordNow { result in
                    switch result {
                    case .success(let checkpoint): reply(checkpoint.json)
                    case .failure(let error): refuse(error)
                    }
                }
            }
        case .pending:
            let now = broker.clock()
            let entries = broker.inspect { $0.pending(destination: query.destination, party: query.party) }
                .filter { gate.permitsSubscribe($0.destination, by: party) }
            reply(AckQueryAnswer.pending(entries, now: now))
        case .history:
            guard let history else { return refuse(BrokerError(.storageFailure, "this broker keeps no log to read the history from")) }
            let destination = query.destination!, offset = query.offset!
            let mayRead = gate.permitsSubscribe(destination, by: party)
            DispatchQueue.global().async { [broker] in
                do throws(BrokerError) {
                    // A sender may see who acknowledged its own message (a coordinator, its summons).
                    if !mayRead, try history.read(destination, offsets: [offset]).first?.publication.sender != party,
                       let refusal = gate.checkSubscribe(destination, by: party) {
                        throw refusal.reported
                    }
                    let events = try history.history(of: destination, offset: offset)
                    let pending = broker.inspect { $0.pending(destination: destination) }
                    reply(AckQueryAnswer.history(destination: destination, offset: offset, events: events, pending: pending, now: broker.clock()))
                } catch {
                    refuse(error)
                }
            }
        }
    }
}
