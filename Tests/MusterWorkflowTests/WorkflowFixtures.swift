import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterSchema
@testable import MusterWorkflow

// The Langxia–Guangchen border for the workflow specifications: who can be summoned, who
// supervises whom, a fake clock (plain milliseconds), and a world that stamps, decides and
// feeds back what the broker owes, as the desk does.

let agriCoop = PartyIdentity(jurisdiction: "jinshan", party: "langxia-agri-coop")
let jointCommand = PartyIdentity(jurisdiction: "jinshan", party: "joint-command")
let pinghuPolice = PartyIdentity(jurisdiction: "pinghu", party: "pinghu-public-security")
/// The broker's own identity: the sender of inbox copies, reminders and escalations.
let workflowBroker = PartyIdentity(jurisdiction: "muster", party: "broker")

let workflowParties = [
    RegisteredParty(identity: langxiaTown, name: "廊下镇", kind: .township),
    RegisteredParty(identity: jinshanPolice, name: "金山公安", kind: .department, supervisor: "joint-command"),
    RegisteredParty(identity: guangchenTown, name: "广陈镇", kind: .township),
    RegisteredParty(identity: pinghuPolice, name: "平湖公安", kind: .department, supervisor: "guangchen-town"),
    RegisteredParty(identity: agriCoop, name: "廊下农业合作社", kind: .enterprise, supervisor: "joint-command"),
    RegisteredParty(identity: shantaGrid, name: "山塘村网格", kind: .grid, supervisor: "langxia-town"),
    RegisteredParty(identity: jointCommand, name: "联合指挥部", kind: .coordinator),
]

let workflowDirectory = WorkflowDirectory(parties: Dictionary(uniqueKeysWithValues: workflowParties.map { ($0.identity, $0) }))

let second: Int64 = 1000
let minute: Int64 = 60_000
let hour: Int64 = 3_600_000
/// 2025-06-12T09:40:00+08:00: the whistle is blown.
let t0: Int64 = 1_749_692_400_000

let summonsTopic = Destination(kind: .topic, name: "summons")
let reportInTopic = Destination(kind: .topic, name: "report-in")
let evaluationTopic = Destination(kind: .topic, name: "evaluation")
let handoffTopic = Destination(kind: .topic, name: "handoff")
let jointOperationTopic = Destination(kind: .topic, name: "joint-operation")

func inbox(_ party: PartyIdentity) -> Destination { WorkflowBook.inbox(of: party) }
func channel(_ operationID: String) -> Destination { Destination(kind: .topic, name: "joint.\(operationID)") }

/// A JSON string literal.
func quoted(_ text: String) -> String { JSONValue.string(text).jsonText }

/// Who a summons names: a party id, or every party of a kind in a jurisdiction.
enum Summoned: ExpressibleByStringLiteral {
    case party(String)
    case every(PartyKind, in: String)

    init(stringLiteral value: String) { self = .party(value) }

    var json: String {
        switch self {
        case .party(let id): return quoted(id)
        case .every(let kind, let jurisdiction): return #"{"kind": "\#(kind.rawValue)", "jurisdiction": "\#(jurisdiction)"}"#
        }
    }
}

/// Schema-valid bodies of the workflow messages.
enum Body {
    static func openSummons(_ summoned: [Summoned], deadline: String? = nil, reminders: [String]? = nil) -> String {
        var fields = [
            #""action": "open""#,
            #""title": "山塘河边界段非法淘金 (illegal gold digging on the border stretch)""#,
            #""description": "夜间用抽砂泵非法淘金，河岸已出现坍塌。""#,
            #""location": {"name": "山塘河廊下—广陈交界段", "lat": 30.8129, "lon": 121.1546}"#,
            #""summoned": [\#(summoned.map(\.json).joined(separator: ", "))]"#,
            #""severity": "high""#,
        ]
        if let deadline { fields.append(#""deadline": \#(quoted(deadline))"#) }
        if let reminders { fields.append(#""reminders": [\#(reminders.map(quoted).joined(separator: ", "))]"#) }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func reportIn(_ id: String, eta: String = "PT20M", note: String? = nil) -> String {
        #"{"summonsId": \#(quoted(id)), "people": [{"name": "王建国", "role": "副所长"}, {"name": "陈磊"}], "eta": \#(quoted(eta))"#
            + (note.map { #", "note": \#(quoted($0))"# } ?? "") + "}"
    }

    static func summonsProgress(_ id: String, _ note: String = "设备已扣押") -> String {
        #"{"action": "progress", "summonsId": \#(quoted(id)), "note": \#(quoted(note))}"#
    }

    static func closeSummons(_ id: String, closedAt: String? = nil) -> String {
        #"{"action": "close", "summonsId": \#(quoted(id)), "resolution": "设备扣押，河岸加固""#
            + (closedAt.map { #", "closedAt": \#(quoted($0))"# } ?? "") + "}"
    }

    static func evaluation(_ id: String, party: String, score: Int) -> String {
        #"{"summonsId": \#(quoted(id)), "party": \#(quoted(party)), "score": \#(score), "comment": "到场及时"}"#
    }

    static func dispatch(to assignee: String, due: Int64) -> String {
        #"{"action": "dispatch", "taskType": "drain-clearing", "title": "山塘村下水道堵塞", "description": "雨后污水漫到路面，请疏通。", "#
            + #""assignee": \#(quoted(assignee)), "due": \#(quoted(WorkflowTime.rfc3339(due))), "reference": "12345-SH-20250614-0081"}"#
    }

    static func handoff(_ action: String, _ id: String, _ extra: String = "") -> String {
        #"{"action": \#(quoted(action)), "handoffId": \#(quoted(id))"# + (extra.isEmpty ? "" : ", " + extra) + "}"
    }

    static func openOperation(members: [(party: String, jurisdiction: String)], start: String = "2025-06-13T20:00:00+08:00",
                              end: String = "2025-06-14T06:00:00+08:00") -> String {
        let listed = members.map { #"{"party": \#(quoted($0.party)), "jurisdiction": \#(quoted($0.jurisdiction))}"# }
        return #"{"action": "open", "title": "山塘河联合巡河", "members": [\#(listed.joined(separator: ", "))], "#
            + #""window": {"start": \#(quoted(start)), "end": \#(quoted(end))}}"#
    }

    static func join(_ id: String, party: String) -> String {
        #"{"action": "join", "operationId": \#(quoted(id)), "party": \#(quoted(party))}"#
    }

    static func notice(_ id: String, _ text: String = "山塘桥北200米发现可疑船只") -> String {
        #"{"action": "notice", "operationId": \#(quoted(id)), "text": \#(quoted(text)), "severity": "high"}"#
    }

    static func closeOperation(_ id: String) -> String {
        #"{"action": "close", "operationId": \#(quoted(id)), "summary": "查获非法淘金船1艘"}"#
    }
}

/// A client publication of a workflow type, before the broker stamps it.
func workflowPublication(_ type: WorkflowType, _ body: String, from sender: PartyIdentity, to destination: Destination? = nil) -> Publication {
    var headers = StompHeaders()
    headers[ReservedHeader.type] = type.rawValue
    headers["content-type"] = "application/json"
    let destination = destination ?? {
        switch type {
        case .summons: return summonsTopic
        case .reportIn: return reportInTopic
        case .evaluation: return evaluationTopic
        case .handoff: return handoffTopic
        case .jointOperation: return jointOperationTopic
        case .escalation: return WorkflowBook.escalationTopic
        }
    }()
    return Publication(destination: destination, headers: headers, body: Array(body.utf8), sender: sender)
}

/// A workflow book with a log: `send` stamps and decides a client message as the desk does,
/// `drive` writes and feeds back what the broker owes. The log holds, in order, every message
/// the broker would have stored.
struct WorkflowWorld {
    var book = WorkflowBook()
    var directory = workflowDirectory
    var log: [Publication] = []

    func stamp(_ type: WorkflowType, _ body: String, from sender: PartyIdentity, to destination: Destination? = nil,
               at time: Int64) -> Result<Publication, BrokerError> {
        book.stamp(workflowPublication(type, body, from: sender, to: destination), time: time, directory: directory)
    }

    /// Stamps and decides a client message; what the book takes joins the log.
    @discardableResult
    mutating func send(_ type: WorkflowType, _ body: String, from sender: PartyIdentity, to destination: Destination? = nil,
                       at time: Int64) -> Result<WorkflowMessage, BrokerError> {
        let stamped: Publication
        switch stamp(type, body, from: sender, to: destination, at: time) {
        case .success(let publication): stamped = publication
        case .failure(let error): return .failure(error)
        }
        guard let message = WorkflowMessage(stamped) else {
            return .failure(BrokerError(.schemaViolation, "the stamped message is not a workflow message"))
        }
        if case .failure(let error) = book.handle(message) { return .failure(error) }
        log.append(stamped)
        return .success(message)
    }

    /// Opens a summons from langxia-town at `time` and returns its id.
    mutating func blowWhistle(_ summoned: [Summoned], deadline: String? = nil, reminders: [String]? = nil,
                              from summoner: PartyIdentity = langxiaTown, at time: Int64 = t0) throws -> String {
        let message = try send(.summons, Body.openSummons(summoned, deadline: deadline, reminders: reminders), from: summoner, at: time).get()
        return try #require(message.caseID)
    }

    /// What the broker owes at `now`, not yet written.
    func owed(at now: Int64) -> [Publication] {
        book.dueMessages(now: now, broker: workflowBroker, directory: directory)
    }

    /// Writes what is owed at `now` and feeds it back, until nothing is owed; returns what was written.
    @discardableResult
    mutating func drive(to now: Int64, sourceLocation: SourceLocation = #_sourceLocation) -> [Publication] {
        var written: [Publication] = []
        for _ in 0..<10 {
            let owed = owed(at: now)
            if owed.isEmpty { return written }
            for publication in owed {
                guard let message = WorkflowMessage(publication) else {
                    Issue.record("an owed message is not a workflow message: \(publication.headers)", sourceLocation: sourceLocation)
                    continue
                }
                if case .failure(let error) = book.handle(message) {
                    Issue.record("the book refused its own owed message: \(error)", sourceLocation: sourceLocation)
                }
                log.append(publication)
                written.append(publication)
            }
        }
        Issue.record("the broker still owes messages after 10 rounds", sourceLocation: sourceLocation)
        return written
    }

    func summons(_ id: String) throws -> SummonsCase { try #require(book.summonses[id]) }
    func handoff(_ id: String) throws -> HandoffCase { try #require(book.handoffs[id]) }
    func operation(_ id: String) throws -> JointOperationCase { try #require(book.operations[id]) }
}

extension Result {
    /// The error of a failed result; nil on success.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

extension Publication {
    /// `muster-workflow-event`, or "-" for a client's message.
    var workflowEvent: String { headers[WorkflowHeader.event] ?? "-" }

    /// Event, type, destination and the party it is about, in one comparable line.
    var owedSummary: String {
        let party = headers[WorkflowHeader.party].flatMap(PartyIdentity.init(path:))?.party ?? "-"
        return "\(workflowEvent) \(headers[ReservedHeader.type] ?? "-") \(destination) \(party)"
    }

    var json: JSONValue? { try? JSONParser.parse(body) }
}

extension SummonsCase {
    func party(_ identity: PartyIdentity) throws -> SummonedParty {
        try #require(parties.first { $0.identity == identity }, "\(identity) was not summoned by \(id)")
    }
}
