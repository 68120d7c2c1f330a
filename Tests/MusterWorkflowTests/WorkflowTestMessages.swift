import MusterBroker
import MusterProtocol
import MusterStomp

// The parties and message builders the workflow specifications share with the broker's.

let langxiaTown = PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")
let guangchenTown = PartyIdentity(jurisdiction: "pinghu", party: "guangchen-town")
let jinshanPolice = PartyIdentity(jurisdiction: "jinshan", party: "jinshan-public-security")
let shantaGrid = PartyIdentity(jurisdiction: "jinshan", party: "shanta-village-grid")
let noticesTopic = Destination(kind: .topic, name: "notices")

/// A publication from `sender` to `destination`.
func publication(to destination: Destination, text: String = "", headers: StompHeaders = [:],
                 sender: PartyIdentity = langxiaTown) -> Publication {
    Publication(destination: destination, headers: headers, body: Array(text.utf8), sender: sender)
}

/// A message as the store would hand it back.
func stored(_ offset: UInt64, to destination: Destination, text: String = "", headers: StompHeaders = [:],
            sender: PartyIdentity = langxiaTown, timestamp: Int64 = 1_700_000_000_000) -> StoredMessage {
    StoredMessage(offset: offset, timestamp: timestamp,
                  publication: publication(to: destination, text: text, headers: headers, sender: sender))
}

/// A client's SEND to `destination` (typed with `type` when given).
func send(_ destination: String, _ body: String, type: String? = nil, from sender: PartyIdentity = langxiaTown,
          headers extra: [(String, String)] = []) throws -> Publication {
    var headers = StompHeaders(extra)
    if let type { headers.append(ReservedHeader.type, type) }
    return Publication(destination: try Destination(parsing: destination), headers: headers, body: Array(body.utf8), sender: sender)
}
