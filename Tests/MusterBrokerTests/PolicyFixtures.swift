@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterSchema

// A small Jinshan–Pinghu policy for the policy specifications.

let jinshanPolice = PartyIdentity(jurisdiction: "jinshan", party: "jinshan-public-security")
let shantaGrid = PartyIdentity(jurisdiction: "jinshan", party: "shanta-village-grid")
let inspector = PartyIdentity(jurisdiction: "jinshan", party: "discipline-inspector")
let stranger = PartyIdentity(jurisdiction: "jinshan", party: "stranger")

let jinshanCA = "aa11"
let pinghuCA = "bb22"

let evaluationSchemaText = """
    {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
     "properties": {"summonsId": {"type": "string", "minLength": 1}, "score": {"type": "integer", "minimum": 1, "maximum": 5}},
     "required": ["summonsId", "score"], "additionalProperties": false}
    """

let taskSchemaText = """
    {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
     "properties": {"taskType": {"type": "string"}, "title": {"type": "string"}},
     "required": ["taskType"], "additionalProperties": false}
    """

func schema(_ text: String, _ name: String) throws -> JSONSchema {
    try JSONSchema(compiling: try JSONParser.parse(Array(text.utf8)), source: "\(name).schema.json")
}

func testPolicy(revoked: Set<String> = []) throws -> Policy {
    let parties = [
        RegisteredParty(identity: langxiaTown, name: "廊下镇", kind: .township),
        RegisteredParty(identity: guangchenTown, name: "广陈镇", kind: .township),
        RegisteredParty(identity: jinshanPolice, name: "金山公安", kind: .department, supervisor: "langxia-town"),
        RegisteredParty(identity: shantaGrid, name: "山塘村网格", kind: .grid, supervisor: "langxia-town"),
        RegisteredParty(identity: inspector, name: "纪检监察", kind: .auditor),
    ]
    let townships = PartySelector(kinds: [.township])
    let topics = [
        TopicRule(pattern: try DestinationPattern("/topic/evaluation"), types: ["evaluation"], publishers: [townships],
                  subscribers: [.everyone], origin: "topics[0]"),
        TopicRule(pattern: try DestinationPattern("/queue/inbox.shanta-village-grid"), types: ["task"],
                  publishers: [PartySelector(kinds: [.township, .department])], subscribers: [PartySelector(parties: ["shanta-village-grid"])],
                  admission: AdmissionList(entries: [
                    .init(taskTypes: ["drain-clearing"], senders: [PartySelector(parties: ["langxia-town"])], reason: "village affairs", reference: "准入清单 第3项"),
                  ]), origin: "topics[1]"),
        TopicRule(pattern: try DestinationPattern("/queue/inbox.{party}"), types: ["task", "evaluation"],
                  publishers: [townships], subscribers: [.owner], origin: "topics[2]"),
        TopicRule(pattern: try DestinationPattern("/topic/notices"), types: [], publishers: [.everyone],
                  subscribers: [PartySelector(jurisdictions: ["jinshan"])], origin: "topics[3]"),
    ]
    let trust = CertificateTrust(authorities: ["jinshan": [jinshanCA], "pinghu": [pinghuCA]], revokedSerials: [jinshanCA: revoked])
    return Policy(parties: parties, topics: topics,
                  schemas: ["evaluation": try schema(evaluationSchemaText, "evaluation"), "task": try schema(taskSchemaText, "task")],
                  trust: trust)
}

func send(_ destination: String, _ body: String, type: String? = nil, from sender: PartyIdentity = langxiaTown,
          headers extra: [(String, String)] = []) throws -> Publication {
    var headers = StompHeaders(extra)
    if let type { headers.append(ReservedHeader.type, type) }
    return Publication(destination: try Destination(parsing: destination), headers: headers, body: Array(body.utf8), sender: sender)
}
