import MusterNet

/// One HTTPS connection to the board, confined to its event loop: the client certificate is
/// admitted as a STOMP connection's would be, then one request is read and answered, and the
/// connection closed — except the summons board's event stream, which stays open and sends
/// the board again whenever it changes.
final class BoardConnection: TLSChannelDelegate, @unchecked Sendable {  // confined to its loop: completions hop to it
    private let source: any BoardSource
    private let requestTimeout: Duration
    private let onClose: () -> Void
    private var admission: Result<BoardViewer, BoardRefusal>?
    private var received: [UInt8] = []
    private var answered = false
    private var openedAt = ContinuousClock.now
    /// The event stream, once started: what was last sent, and when something was.
    private var stream: (router: BoardRouter, language: BoardLanguage, lastBoard: String, lastSent: ContinuousClock.Instant)?
    private var lastCheck = ContinuousClock.now

    /// How often a stream checks whether the board changed, and sends a comment when idle (so a proxy keeps it).
    static let streamCheckInterval: Duration = .milliseconds(500)
    static let keepAliveInterval: Duration = .seconds(15)

    init(source: any BoardSource, requestTimeout: Duration, onClose: @escaping () -> Void) {
        self.source = source
        self.requestTimeout = requestTimeout
        self.onClose = onClose
    }

    func channelDidOpen(_ channel: TLSChannel) {
        openedAt = .now
        admission = source.admit(channel.peerCertificate, source: channel.remoteAddress)
    }

    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer) {
        guard !answered else { return }
        received.append(contentsOf: bytes)
        switch HTTPRequest.read(received) {
        case .incomplete: return
        case .invalid(let status, let reason): respond(BoardRouter.refusal(status, reason), on: channel)
        case .complete(let request): answer(request, on: channel)
        }
    }

    private func answer(_ request: HTTPRequest, on channel: TLSChannel) {
        answered = true
        received = []
        let viewer: BoardViewer
        switch admission {
        case .success(let admitted)?: viewer = admitted
        case .failure(let refusal)?: return respond(BoardRouter.refusal(403, "\(refusal.code): \(refusal.message)"), on: channel)
        case nil: return respond(BoardRouter.refusal(403, "the connection was not admitted"), on: channel)
        }
        let router = BoardRouter(source: source, viewer: viewer)
        switch router.reply(to: request) {
        case .response(let response):
            respond(response, on: channel)
        case .events(let language):
            let board = router.liveBoard(language: language)
            stream = (router, language, board, .now)
            channel.write(ServerSentEvent.head + ServerSentEvent.encode(event: "board", data: board))
        case .submit(let submission, let makeAnswer):
            source.submit(submission, by: viewer) { [self] result in
                channel.loop.execute { [self] in respond(makeAnswer(result), on: channel) }
            }
        }
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
        guard now - lastCheck >= Self.streamCheckInterval else { return }
        lastCheck = now
        // A stream that cannot keep up (a stalled browser) is not fed more: it gets the board that is current once it drains.
        guard channel.pendingOutboundByteCount == 0 else { return }
        let board = open.router.liveBoard(language: open.language)
        if board != open.lastBoard {
            channel.write(ServerSentEvent.encode(event: "board", data: board))
            open.lastBoard = board
            open.lastSent = now
        } else if now - open.lastSent >= Self.keepAliveInterval {
            channel.write(Array(": keep-alive\n\n".utf8))
            open.lastSent = now
        }
        stream = open
    }

    func channelDidClose(_ channel: TLSChannel, error: (any Error)?) {
        if let refused = error as? TLSHandshakeError { source.handshakeFailed(refused) }
        stream = nil
        onClose()
    }
}
