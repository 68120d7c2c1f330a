/// What the board answers to one request from an admitted party: a page, an asset, the
/// metrics, a form to send to the broker, or the start of the summons board's event stream.
struct BoardRouter {
    enum Reply {
        case response(HTTPResponse)
        /// Keep the connection open and send the summons board whenever it changes.
        case events(BoardLanguage)
        /// Send the form's message as the viewer; `answer` makes the page from the broker's answer.
        case submit(WorkflowSubmission, answer: @Sendable (Result<String, BoardRefusal>) -> HTTPResponse)
    }

    let source: any BoardSource
    let viewer: BoardViewer

    /// Pages are the broker's own: no script, style or frame from elsewhere.
    static let pageFields = [
        "Content-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        "X-Content-Type-Options: nosniff", "Referrer-Policy: same-origin",
    ]

    func reply(to request: HTTPRequest) -> Reply {
        let head = request.head
        let query = FormFields.parse(head.query) ?? FormFields(pairs: [])
        let language = BoardLanguage.chosen(query: query, acceptLanguage: head.field("accept-language"))
        if head.path == "/metrics" { return .response(metrics(head)) }
        guard !viewer.isMonitor else {
            return .response(Self.refusal(403, "\(viewer.identity) is a monitor: it may read /metrics, and nothing else on the board"))
        }
        switch (head.method, head.path) {
        case ("GET", "/board.js"): return .response(HTTPResponse(status: 200, reason: "OK", contentType: "text/javascript; charset=utf-8", body: Array(BoardAssets.script.utf8)))
        case ("GET", "/board.css"): return .response(HTTPResponse(status: 200, reason: "OK", contentType: "text/css; charset=utf-8", body: Array(BoardAssets.styleSheet.utf8)))
        case ("GET", "/events"):
            if let site = head.field("sec-fetch-site"), site != "same-origin" {
                return .response(Self.refusal(403, "the board's live stream is for the board's own pages (Sec-Fetch-Site: \(site))"))
            }
            return .events(language)
        case ("POST", let path) where BoardForms.paths.contains(path):
            return post(request, language: language)
        case (_, let path) where BoardForms.paths.contains(path):
            return .response(Self.refusal(405, "\(path) takes a form (POST)", allow: "POST"))
        case ("GET", _):
            guard let tab = BoardPages.Tab(rawValue: head.path) else { return .response(Self.refusal(404, "the board has no page \(head.path)")) }
            return .response(page(tab, language: language, notice: nil, status: 200))
        case (_, let path) where BoardPages.Tab(rawValue: path) != nil || path == "/events":
            return .response(Self.refusal(405, "\(path) answers GET only", allow: "GET"))
        default:
            return .response(Self.refusal(404, "the board has no page \(head.path)"))
        }
    }

    /// The summons board's live part, as the event stream sends it: without the clock's readings
    /// (the page's script keeps the countdowns), so that it changes only when the summonses do.
    func liveBoard(language: BoardLanguage) -> String {
        SummonsBoardHTML(language: language, viewer: viewer, names: names).section(source.summonses(for: viewer), now: source.now, streamed: true)
    }

    private var names: [String: String] {
        Dictionary(source.parties().map { ($0.identity, $0.name) }, uniquingKeysWith: { first, _ in first })
    }

    func page(_ tab: BoardPages.Tab, language: BoardLanguage, notice: BoardPages.Notice?, status: Int) -> HTTPResponse {
        let pages = BoardPages(language: language, viewer: viewer, names: names)
        let content: String
        switch tab {
        case .board: content = pages.board(source.summonses(for: viewer), now: source.now, parties: source.parties())
        case .handoffs: content = pages.handoffs(source.handoffs(for: viewer), now: source.now, parties: source.parties())
        case .assessment: content = AssessmentHTML(language: language, names: names).section(source.assessment())
        case .audit:
            guard viewer.isAuditor else {
                return Self.refusal(403, "\(viewer.identity) is a \(viewer.kind): the auditors' page is for auditors")
            }
            content = AuditHTML(language: language).section(source.audit())
        }
        return HTTPResponse(status: status, reason: Self.reason(status), contentType: "text/html; charset=utf-8",
                            body: Array(pages.page(tab, notice: notice, content: content).utf8), extraFields: Self.pageFields)
    }

    private func post(_ request: HTTPRequest, language: BoardLanguage) -> Reply {
        let head = request.head
        // A page elsewhere must not make the browser post here with the party's certificate: a
        // browser says where a form came from (Sec-Fetch-Site, Origin); a client that is not a browser says neither.
        if let site = head.field("sec-fetch-site"), site != "same-origin", site != "none" {
            return .response(Self.refusal(403, "a form from another site (\(site)) cannot act on this board; use the board's own page"))
        }
        if let origin = head.field("origin"), origin != "https://\(head.field("host") ?? "")" {
            return .response(Self.refusal(403, "a form from \(origin) cannot act on this board; use the board's own page"))
        }
        let tab: BoardPages.Tab = head.path.hasPrefix("/handoff") ? .handoffs : .board
        let submission = FormFields.parse(request.body).map { BoardForms.submission(path: head.path, fields: $0) }
            ?? .failure(BoardRefusal(code: "invalid-header", message: "the form's body is not URL-encoded UTF-8"))
        switch submission {
        case .failure(let refusal):
            return .response(page(tab, language: language, notice: BoardPages.Notice(refused: true, text: refusal.message), status: 400))
        case .success(let message):
            return .submit(message) { [self] answer in
                switch answer {
                case .success(let id):
                    return page(tab, language: language, notice: BoardPages.Notice(refused: false, text: "\(message.type) \(id)"), status: 200)
                case .failure(let refusal):
                    let status = ["not-authorized", "not-admitted", "identity-refused"].contains(refusal.code) ? 403 : 422
                    return page(tab, language: language, notice: BoardPages.Notice(refused: true, text: "\(refusal.code): \(refusal.message)"), status: status)
                }
            }
        }
    }

    private func metrics(_ head: HTTPRequestHead) -> HTTPResponse {
        guard viewer.isMonitor else { return Self.refusal(403, "/metrics is for parties of kind monitor; \(viewer.identity) is a \(viewer.kind)") }
        guard head.method == "GET" else { return Self.refusal(405, "/metrics answers GET only", allow: "GET") }
        guard let exposition = source.metrics() else { return Self.refusal(404, "this broker keeps no metrics") }
        return HTTPResponse(status: 200, reason: "OK", contentType: MetricsEndpoint.contentType, body: exposition)
    }

    static func refusal(_ status: Int, _ text: String, allow: String? = nil) -> HTTPResponse {
        HTTPResponse(status: status, reason: reason(status), text: text + "\n", extraFields: allow.map { ["Allow: \($0)"] } ?? [])
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 422: "Unprocessable Content"
        default: "Error"
        }
    }
}

/// One Server-Sent Event: `event:` and the data, a `data:` line for each of its lines. A
/// carriage return ends a line in the stream's grammar too: every kind of line end becomes a
/// new `data:` line, so no text can end the event early or add a field.
enum ServerSentEvent {
    static func encode(event: String, data: String) -> [UInt8] {
        var text = "event: \(event)\ndata: "
        var previousWasCarriageReturn = false
        for scalar in data.unicodeScalars {
            switch scalar {
            case "\r": text += "\ndata: "
            case "\n" where previousWasCarriageReturn: break
            case "\n": text += "\ndata: "
            default: text.unicodeScalars.append(scalar)
            }
            previousWasCarriageReturn = scalar == "\r"
        }
        return Array((text + "\n\n").utf8)
    }

    /// The head of a stream: no length, no caching, kept open.
    static let head = Array(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n"
        + "Connection: keep-alive\r\nX-Accel-Buffering: no\r\n\r\nretry: 2000\n\n").utf8)
}
