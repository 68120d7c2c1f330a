import MusterNet

/// One HTTPS connection to the board, confined to its event loop: the client certificate is
/// admitted as a STOMP connection's would be, then one request is read and answered, and the
/// connection closed — except the summons board's event stream, which stays open, sends the
/// board again whenever it changes, and admits the certificate again at each check (a reload
/// may have revoked it), for at most `streamLifetime` (the browser then reconnects).
final class BoardConnection: TLSChannelDelegate, @unchecked Sendable {  // confined to its loop: completions hop to it
    private let source: any BoardSource
    private let requestTimeout: Duration
    private let streams: BoardStreams
    private let onClose: () -> Void
    private var admission: Result<BoardViewer, BoardRefusal>?
    private var reader = HTTPRequest.Reader()
    private var answered = false
    private var openedAt = ContinuousClock.now
    private var stream: Stream?

    private struct Stream {
        let router: BoardRouter
        let language: BoardLanguage
        let startedAt: ContinuousClock.Instant
        var lastBoard: String
        var lastSent: ContinuousClock.Instant
        var lastCheck: ContinuousClock.Instant
    }

    /// How often a stream checks whether the board changed; when idle it sends a comment now and
    /// then (so that a proxy keeps it open).
    static let streamCheckInterval: Duration = .seconds(1)
    static let keepAliveInterval: Duration = .seconds(15)
    static let streamLifetime: Duration = .seconds(600)

    init(source: any BoardSource, requestTimeout: Duration, streams: BoardStreams, onClose: @escaping () -> Void) {
        self.source = source
        self.requestTimeout = requestTimeout
        self.streams = streams
        self.onClose = onClose
    }

    func channelDidOpen(_ channel: TLSChannel) {
        openedAt = .now
        admission = source.admit(channel.peerCertificate, source: channel.remoteAddress)
    }

    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        guard !answered else { return }
        let reading = reader.append(bytes)
        // A refused party is answered as soon as its request's head is in: its body is not read.
        if case .failure(let refusal)? = admission, reader.completeHead != nil {
            return respond(BoardRouter.refusal(403, "\(refusal.code): \(refusal.message)"), on: channel)
        }
        switch reading {
        case .incomplete: return
        case .invalid(let status, let reason): respond(BoardRouter.refusal(status, reason), on: channel)
        case .complete(let request): answer(request, on: channel)
        }
    }

    private func answer(_ request: HTTPRequest, on channel: TLSChannel) {
        answered = true
        guard case .success(let viewer)? = admission else {
            return respond(BoardRouter.refusal(403, "the connection was not admitted"), on: channel)
        }
        let router = BoardRouter(source: source, viewer: viewer)
        switch router.reply(to: request) {
        case .response(let response):
            respond(response, on: channel)
        case .events(let language):
            guard streams.start(for: viewer.identity) else {
                return respond(BoardRouter.refusal(503, "the board has \(BoardStreams.maximumStreams) live streams open, or this party "
                                                   + "\(BoardStreams.maximumPerParty); close a tab, or reload later"), on: channel)
            }
            let board = router.liveBoard(language: language)
            let now = ContinuousClock.now
            stream = Stream(router: router, language: language, startedAt: now, lastBoard: board, lastSent: now, lastCheck: now)
            channel.write(ServerSentEvent.head + clockAndBoard(board))
        case .submit(let submission, let makeAnswer):
            source.submit(submission, by: viewer) { [self] result in
                channel.loop.execute { [self] in respond(makeAnswer(result), on: channel) }
            }
        }
    }

    /// The broker's clock (for the countdowns), then the board.
    private func clockAndBoard(_ board: String) -> [UInt8] {
        ServerSentEvent.encode(event: "clock", data: String(source.now)) + ServerSentEvent.encode(event: "board", data: board)
    }

    private func respond(_ response: HTTPResponse, on channel: TLSChannel) {
        answered = true
        channel.write(response.encoded)
        channel.close(flush: true)
    }

    func channelTick(_ channel: TLSChannel, now: ContinuousClock.Instant) {
        guard channel.isOpen else { return }
        guard var open = stream else {
            if !answered, now - openedAt > requestTimeout {
                respond(BoardRouter.refusal(408, "no complete request arrived within \(requestTimeout)"), on: channel)
            }
            return
        }
        guard now - open.lastCheck >= Self.streamCheckInterval else { return }
        open.lastCheck = now
        stream = open
        guard now - open.startedAt < Self.streamLifetime else { return channel.close(flush: true) }
        // After a reload the certificate may be revoked, the party gone or of another kind: the
        // stream ends (a refusal is recorded), and the browser's next one sees what the party may now.
        guard case .success(let viewer) = source.admit(channel.peerCertificate, source: channel.remoteAddress),
              viewer == open.router.viewer else { return channel.close(flush: true) }
        // A stream that cannot keep up (a stalled browser) is not fed more: it gets the board that is current once it drains.
        guard channel.pendingOutboundByteCount == 0 else { return }
        let board = open.router.liveBoard(language: open.language)
        if board != open.lastBoard {
            open.lastBoard = board
            open.lastSent = now
            stream = open
            channel.write(clockAndBoard(board))
        } else if now - open.lastSent >= Self.keepAliveInterval {
            open.lastSent = now
            stream = open
            channel.write(Array(": keep-alive\n\n".utf8))
        }
    }

    func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        if let refused = error as? TLSHandshakeError { source.handshakeFailed(refused) }
        if let open = stream { streams.end(for: open.router.viewer.identity) }
        stream = nil
        onClose()
    }
}

/// The live streams open, in all and per party (touched on the board's loop thread only): each
/// holds a connection for minutes, so they get a budget of their own below the connection cap.
final class BoardStreams: @unchecked Sendable {
    static let maximumStreams = 128
    static let maximumPerParty = 8
    private var total = 0
    private var perParty: [String: Int] = [:]

    func start(for party: String) -> Bool {
        guard total < Self.maximumStreams, perParty[party, default: 0] < Self.maximumPerParty else { return false }
        total += 1
        perParty[party, default: 0] += 1
        return true
    }

    func end(for party: String) {
        total -= 1
        perParty[party, default: 1] -= 1
        if perParty[party] == 0 { perParty[party] = nil }
    }
}
