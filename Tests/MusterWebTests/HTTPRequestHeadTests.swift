import MusterWeb
import Testing

/// The request heads the metrics endpoint reads, and what it answers.
@Suite("an HTTP request head")
struct HTTPRequestHeadTests {
    static func read(_ text: String) -> HTTPRequestHead.Reading { HTTPRequestHead.read(Array(text.utf8)) }

    @Test func aScrapersHeadIsReadWithCRLFOrLFLineEnds() {
        for end in ["\r\n", "\n"] {
            guard case .complete(let head) = Self.read("GET /metrics?x=1 HTTP/1.1\(end)Host: 127.0.0.1:9464\(end)Accept:  text/plain \(end)\(end)") else {
                Issue.record("not read with \(end.debugDescription)")
                continue
            }
            #expect(head.method == "GET" && head.path == "/metrics" && head.version == "HTTP/1.1")
            #expect(head.fields.map(\.name) == ["host", "accept"] && head.fields.last?.value == "text/plain")
        }
    }

    @Test func aHeadNotYetEndedIsIncompleteAndATooLongOneIsRefused() {
        #expect(Self.read("GET /metrics HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(Self.read("") == .incomplete)
        guard case .invalid(let reason) = Self.read("GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: 9_000)) else {
            Issue.record("an endless head was not refused")
            return
        }
        #expect(reason.contains("8192"))
    }

    @Test(arguments: ["GET metrics HTTP/1.1", "GET /metrics HTTP/2", "GET /metrics", "/metrics HTTP/1.1", "GET /metrics HTTP/1.1\r\n: no name"])
    func aMalformedHeadIsInvalid(_ text: String) {
        guard case .invalid = Self.read(text + "\r\n\r\n") else {
            Issue.record("read: \(text.debugDescription)")
            return
        }
    }

    @Test func theEndpointAnswersOnlyGetOfMetrics() {
        let endpoint = MetricsEndpoint(registry: .init())
        #expect(endpoint.respond(to: Self.read("GET /other HTTP/1.1\r\n\r\n")).status == 404)
        for method in ["POST", "HEAD"] {
            let refused = endpoint.respond(to: Self.read("\(method) /metrics HTTP/1.1\r\n\r\n"))
            #expect(refused.status == 405 && String(decoding: refused.encoded, as: UTF8.self).contains("\r\nAllow: GET\r\n"), "\(method)")
        }
        #expect(endpoint.respond(to: Self.read("BAD\r\n\r\n")).status == 400)
        let ok = endpoint.respond(to: Self.read("GET /metrics HTTP/1.0\r\n\r\n"))
        #expect(ok.status == 200 && ok.contentType == MetricsEndpoint.contentType)
        let encoded = String(decoding: ok.encoded, as: UTF8.self)
        #expect(encoded.hasPrefix("HTTP/1.1 200 OK\r\n") && encoded.contains("Content-Length: \(ok.body.count)\r\n") && encoded.contains("Connection: close"))
    }
}
