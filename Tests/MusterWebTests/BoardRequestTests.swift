@testable import MusterWeb
import Testing

/// What the board reads from a browser: whole requests with their bodies, form fields, and the language.
@Suite("the board's requests")
struct BoardRequestTests {
    static func read(_ text: String) -> HTTPRequest.Reading { HTTPRequest.read(Array(text.utf8)) }

    @Test func aFormPostIsReadWithItsWholeBodyAndNotBefore() {
        let head = "POST /summon?lang=en HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nContent-Length: 11\r\n\r\n"
        #expect(Self.read(head + "to=a&title") == .incomplete)
        guard case .complete(let request) = Self.read(head + "to=a&title=x") else {
            Issue.record("a whole post was not read")
            return
        }
        #expect(request.head.path == "/summon" && request.head.query == "lang=en" && request.head.field("host") == "127.0.0.1:8443")
        #expect(request.body == Array("to=a&title=".utf8), "only Content-Length bytes are the body")
    }

    @Test func aBodyWithoutALengthOrTooLongOrWithABadLengthIsRefused() {
        #expect(Self.read("POST /summon HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == .invalid(status: 411, reason: "a request body must come with Content-Length, not Transfer-Encoding"))
        guard case .invalid(413, _) = Self.read("POST /summon HTTP/1.1\r\nContent-Length: 70000\r\n\r\n") else {
            Issue.record("a body over the limit was not refused")
            return
        }
        for length in ["-1", "12a", "", "+5", "٣"] {
            guard case .invalid(400, _) = Self.read("POST /summon HTTP/1.1\r\nContent-Length: \(length)\r\n\r\n") else {
                Issue.record("Content-Length '\(length)' was accepted")
                continue
            }
        }
        guard case .complete(let request) = Self.read("GET / HTTP/1.1\r\nHost: x\r\n\r\n") else {
            Issue.record("a GET without a body was not read")
            return
        }
        #expect(request.body.isEmpty)
    }

    @Test func formFieldsAreDecodedAsBrowsersEncodeThem() throws {
        let fields = try #require(FormFields.parse("to=jinshan-public-security%2Cguangchen-town&title=Fallen+tree+%E5%BB%8A%E4%B8%8B&empty=&to=x&flag"))
        #expect(fields["to"] == "jinshan-public-security,guangchen-town")
        #expect(fields["title"] == "Fallen tree 廊下")
        #expect(fields["empty"] == nil && fields["flag"] == nil, "a blank field counts as absent")
        #expect(fields.all("to") == ["jinshan-public-security,guangchen-town", "x"])
        #expect(FormFields.parse("a=%E5%BB") == nil, "a cut UTF-8 sequence")
        #expect(FormFields.parse("a=%zz") == nil && FormFields.parse("a=%4") == nil, "a broken escape")
    }

    @Test func theLanguageIsTheAskedOneThenTheBrowsersThenChinese() {
        let none = FormFields(pairs: [])
        #expect(BoardLanguage.chosen(query: FormFields(pairs: [("lang", "en")]), acceptLanguage: "zh-CN,zh;q=0.9") == .english)
        #expect(BoardLanguage.chosen(query: none, acceptLanguage: "en-GB,en;q=0.9") == .english)
        #expect(BoardLanguage.chosen(query: none, acceptLanguage: "fr-FR, zh-TW;q=0.8, en;q=0.5") == .chinese)
        #expect(BoardLanguage.chosen(query: FormFields(pairs: [("lang", "fr")]), acceptLanguage: nil) == .chinese)
        for label in BoardLabel.allCases {
            #expect(label.text(.chinese) != label.rawValue && label.text(.english) != "", "\(label) has no Chinese text")
        }
    }
}

/// The event stream's framing and the live board's stability.
@Suite("the board's event stream")
struct BoardEventStreamTests {
    @Test func noLineEndInTheDataCanEndTheEventOrAddAField() {
        let encoded = String(decoding: ServerSentEvent.encode(event: "board", data: "a\rEvent: x\r\nb\nc"), as: UTF8.self)
        #expect(encoded == "event: board\ndata: a\ndata: Event: x\ndata: b\ndata: c\n\n")
        #expect(HTML.escape("x\revent: y\r\n<") == "x&#13;event: y&#13;\n&lt;")
    }

    @Test func aRequestWithTwoDifferentLengthsIsRefused() {
        guard case .invalid(400, let reason) = HTTPRequest.read(Array("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".utf8)) else {
            Issue.record("two lengths accepted")
            return
        }
        #expect(reason.contains("differ"))
    }

    @Test func aBodyArrivingAByteAtATimeIsReadOnceWhole() {
        var reader = HTTPRequest.Reader()
        let bytes = Array("POST /summon HTTP/1.1\r\nContent-Length: 5\r\n\r\nto=ab".utf8)
        var last = HTTPRequest.Reading.incomplete
        for byte in bytes { last = reader.append([byte]) }
        #expect(last == .complete(HTTPRequest(head: HTTPRequestHead(method: "POST", path: "/summon", version: "HTTP/1.1", fields: [("content-length", "5")]),
                                              body: Array("to=ab".utf8))))
    }
}
