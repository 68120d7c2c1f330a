public import MusterProtocol
import MusterSchema
public import MusterBroker
/// The state of every summons, hand-off and joint operation: a pure state machine fed the
/// workflow messages in log order. The desk feeds it each message as it accepts it (and
/// refuses what `handle` refuses); a restart or an auditor feeds it the log; both reach the
/// same state, because the input is the same stamped messages. Timers are a question
/// (`dueMessages(now:)`), answered with the messages the broker owes, which are fed back in.
public struct WorkflowBook: Sendable, Codable {
    public internal(set) var summonses: [String: SummonsCase] = [:]
    public internal(set) var handoffs: [String: HandoffCase] = [:]
    public internal(set) var operations: [String: JointOperationCase] = [:]
    /// Ids in the order the cases were opened.
    public internal(set) var summonsOrder: [String] = []
    public internal(set) var handoffOrder: [String] = []
    public internal(set) var operationOrder: [String] = []
    public internal(set) var admissionRefusals: [AdmissionRefusal] = []
    /// For each linked jurisdiction (and lane of its link), the latest workflow time of what its
    /// broker sent here: no later record of it is judged earlier (`bounded`).
    public internal(set) var latestTimeFrom: [String: Int64] = [:]
    /// Which cases the timers must look at (`WorkflowBook+Timers.swift`); rebuilt, not stored.
    var timerIndex = WorkflowTimerIndex()

    enum CodingKeys: String, CodingKey {
        case summonses, handoffs, operations, summonsOrder, handoffOrder, operationOrder, admissionRefusals, latestTimeFrom
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        summonses = try container.decode([String: SummonsCase].self, forKey: .summonses)
        handoffs = try container.decode([String: HandoffCase].self, forKey: .handoffs)
        operations = try container.decode([String: JointOperationCase].self, forKey: .operations)
        summonsOrder = try container.decode([String].self, forKey: .summonsOrder)
        handoffOrder = try container.decode([String].self, forKey: .handoffOrder)
        operationOrder = try container.decode([String].self, forKey: .operationOrder)
        admissionRefusals = try container.decode([AdmissionRefusal].self, forKey: .admissionRefusals)
        latestTimeFrom = try container.decodeIfPresent([String: Int64].self, forKey: .latestTimeFrom) ?? [:]
        reindexAll()
    }

    /// Cases this broker opened (those a linked broker opened have its ids).
    var summonsCount: Int { summonsOrder.count { summonses[$0]?.owner == nil } }
    var handoffCount: Int { handoffOrder.count { handoffs[$0]?.owner == nil } }
    var operationCount: Int { operationOrder.count { operations[$0]?.owner == nil } }

    /// Takes one stamped workflow message: applies it, or says why the workflow refuses it
    /// (and then nothing changed).
    public mutating func handle(_ message: WorkflowMessage) -> Result<Void, BrokerError> {
        let message = bounded(message)
        do throws(BrokerError) {
            switch message.type {
            case .summons, .reportIn, .evaluation: try handleSummons(message)
            case .handoff: try handleHandoff(message)
            case .jointOperation: try handleOperation(message)
            case .escalation: try handleEscalation(message)
            }
            if let id = message.caseID { reindex(caseID: id) } else { reindexAll() }
            if let key = message.boundKey { latestTimeFrom[key] = max(latestTimeFrom[key] ?? .min, message.time) }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// Takes any message read back from the log: workflow messages are handled (a refused
    /// one is skipped, as it was when it was sent), refusals by an admission list are counted.
    public mutating func replay(_ publication: Publication) {
        if publication.destination == RefusalRecord.destination {
            noteRefusal(publication.body)
        } else if let message = WorkflowMessage(publication) {
            _ = handle(message)
        }
    }

    /// A message from a linked broker is judged no earlier than the latest time that broker had
    /// already sent here in the same lane: a broker can date a record back only into the time
    /// since its peer last heard from it (during a cut link, back to the cut), never before what
    /// the peer has seen. Nor later than it arrived here: a clock ahead moves no bound.
    func bounded(_ message: WorkflowMessage) -> WorkflowMessage {
        guard let key = message.boundKey else { return message }
        let time = min(max(message.time, latestTimeFrom[key] ?? .min), message.receivedAt ?? .max)
        guard time != message.time else { return message }
        var bounded = message
        bounded.time = time
        return bounded
    }

    private mutating func noteRefusal(_ body: [UInt8]) {
        guard case .object(let record)? = try? JSONParser.parse(body),
              case .string(let code)? = record["code"], code == ErrorCode.notAdmitted.rawValue,
              case .string(let party)? = record["party"], case .string(let jurisdiction)? = record["jurisdiction"],
              case .number(let time)? = record["time"] else { return }
        admissionRefusals.append(AdmissionRefusal(party: PartyIdentity(jurisdiction: jurisdiction, party: party), time: Int64(time)))
    }

    private mutating func handleEscalation(_ message: WorkflowMessage) throws(BrokerError) {
        // Only the broker's own record on the escalation topic counts; its inbox copies do not.
        guard message.event == .escalation, let id = message.caseID, let party = message.party(header: WorkflowHeader.party) else { return }
        if var summons = summonses[id], let index = summons.index(of: party) {
            summons.parties[index].escalatedAt = message.time
            summons.timeline.append(TimelineEntry(time: message.time, party: party, text: "escalated: not reported in by the deadline"))
            summonses[id] = summons
        } else if var handoff = handoffs[id], let index = handoff.legs.lastIndex(where: { $0.assignee == party }) {
            handoff.legs[index].escalatedAt = message.time
            handoff.timeline.append(TimelineEntry(time: message.time, party: party, text: "escalated: overdue"))
            handoffs[id] = handoff
        }
    }

    static func unknown(_ kind: String, _ id: String?) -> BrokerError {
        BrokerError(.unknownWorkflow, "no \(kind) has the id '\(id ?? "")'")
    }

    static func refused(_ reason: String) -> BrokerError {
        BrokerError(.invalidTransition, reason)
    }
}
