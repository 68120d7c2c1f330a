public import MusterNet
public import MusterWorkflow

/// Who is looking at the board: the party its client certificate names, as the policy knows it.
public struct BoardViewer: Sendable, Equatable {
    public let party: String
    public let jurisdiction: String
    /// The party's own name in the parties file (Chinese, usually).
    public let name: String
    /// Its kind (`coordinator`, `department`, `monitor`, …).
    public let kind: String

    public init(party: String, jurisdiction: String, name: String, kind: String) {
        self.party = party
        self.jurisdiction = jurisdiction
        self.name = name
        self.kind = kind
    }

    /// Coordinators and auditors oversee every case and see the auditors' page.
    public var oversees: Bool { kind == "coordinator" || kind == "auditor" }
    /// Auditors see the auditors' page (the log, pending acknowledgements, refusals, links).
    public var isAuditor: Bool { kind == "auditor" }
    /// A party of kind `monitor` may read `/metrics` over HTTPS, and nothing else.
    public var isMonitor: Bool { kind == "monitor" }
    /// `jurisdiction/party`, as the workflow views name parties.
    public var identity: String { "\(jurisdiction)/\(party)" }
}

/// Why the broker refused something, in its own words: the error code (`not-authorized`,
/// `invalid-transition`, …) and the message a STOMP client would get in its ERROR frame.
public struct BoardRefusal: Error, Sendable, Equatable {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// A workflow message the board sends for its viewer, exactly as a STOMP client would: the
/// `muster-type`, the destination and the JSON body.
public struct WorkflowSubmission: Sendable, Equatable {
    public let type: String
    public let destination: String
    /// A JSON object, keys sorted.
    public let body: [UInt8]
    /// The form's own token, sent as `muster-publish-id`: the same form posted again (a reload,
    /// the back button) is stored once, and answered with the original's id.
    public let publishID: String?

    public init(type: String, destination: String, body: [UInt8], publishID: String? = nil) {
        self.type = type
        self.destination = destination
        self.body = body
        self.publishID = publishID
    }
}

/// What the auditors' page shows: the log's head, how it was checked, who has deliveries
/// unacknowledged, what the policy refused, and each federation link.
public struct AuditView: Sendable, Equatable {
    public struct PendingRow: Sendable, Equatable {
        public let party: String
        public let destination: String
        public let count: Int
        public let oldestSince: Int64
        public init(party: String, destination: String, count: Int, oldestSince: Int64) {
            self.party = party
            self.destination = destination
            self.count = count
            self.oldestSince = oldestSince
        }
    }

    public struct RefusalRow: Sendable, Equatable {
        public let rule: String
        public let code: String
        public let count: Int
        public init(rule: String, code: String, count: Int) {
            self.rule = rule
            self.code = code
            self.count = count
        }
    }

    public struct LinkRow: Sendable, Equatable {
        public let peer: String
        public let lane: String
        public let state: String
        public let backlogRecords: UInt64?
        public let lagSeconds: Double?
        public let lastError: String?
        public init(peer: String, lane: String, state: String, backlogRecords: UInt64?, lagSeconds: Double?, lastError: String?) {
            self.peer = peer
            self.lane = lane
            self.state = state
            self.backlogRecords = backlogRecords
            self.lagSeconds = lagSeconds
            self.lastError = lastError
        }
    }

    public let logID: String
    public let jurisdiction: String
    /// `OFFSET:CHAIN-HASH` of the last record, or nil for an empty log.
    public let head: String?
    public let nextOffset: UInt64
    /// How the log was checked when the broker opened it.
    public let verification: String
    public let pending: [PendingRow]
    public let refusals: [RefusalRow]
    public let links: [LinkRow]

    public init(logID: String, jurisdiction: String, head: String?, nextOffset: UInt64, verification: String,
                pending: [PendingRow], refusals: [RefusalRow], links: [LinkRow]) {
        self.logID = logID
        self.jurisdiction = jurisdiction
        self.head = head
        self.nextOffset = nextOffset
        self.verification = verification
        self.pending = pending
        self.refusals = refusals
        self.links = links
    }
}

/// What the board reads from and sends to the broker. The broker's implementation admits
/// certificates as STOMP connections are admitted and sends submissions down the same policy,
/// log and workflow path as a SEND; every call may come from the board's loop thread.
public protocol BoardSource: AnyObject, Sendable {
    /// The party a verified TLS peer is, or why it may not use the board (the refusal is recorded).
    func admit(_ certificate: PeerCertificate?, source: String) -> Result<BoardViewer, BoardRefusal>
    /// The broker's clock (milliseconds since 1970).
    var now: Int64 { get }
    /// The summonses the viewer may see (as `muster summons list` shows them to it), oldest first.
    func summonses(for viewer: BoardViewer) -> [SummonsView]
    /// The hand-offs the viewer may see, oldest first.
    func handoffs(for viewer: BoardViewer) -> [HandoffView]
    /// The parties the viewer may summon or hand tasks to, for the forms' suggestions: `party@jurisdiction` and name.
    func parties() -> [(identity: String, name: String)]
    /// Every party's assessment over all time.
    func assessment() -> Assessment
    /// The auditors' view (the caller checks that the viewer oversees).
    func audit() -> AuditView
    /// Sends `submission` as `viewer`; `completion` gets the case id the broker assigned, or the refusal.
    func submit(_ submission: WorkflowSubmission, by viewer: BoardViewer, completion: @escaping @Sendable (Result<String, BoardRefusal>) -> Void)
    /// The Prometheus exposition, or nil when this broker does not keep metrics.
    func metrics() -> [UInt8]?
    /// Records a connection refused at the TLS handshake, as the STOMP listener does.
    func handshakeFailed(_ error: TLSHandshakeError)
}
