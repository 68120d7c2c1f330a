public import MusterStomp
public import MusterProtocol

/// A SEND the broker accepted for publication, before it is stored.
public struct Publication: Sendable {
    public var destination: Destination
    /// The client's headers, minus the frame-control ones (destination, receipt, transaction, content-length).
    public var headers: StompHeaders
    public var body: [UInt8]
    public var sender: PartyIdentity
    /// Set: not stored if an earlier publication of the sequence failed to be.
    public var sequence: StoreSequence?

    public init(destination: Destination, headers: StompHeaders, body: [UInt8], sender: PartyIdentity, sequence: StoreSequence? = nil) {
        self.destination = destination
        self.headers = headers
        self.body = body
        self.sender = sender
        self.sequence = sequence
    }
}

/// A message as stored: the publication plus its position and the broker's stamps.
public struct StoredMessage: Sendable {
    /// Position in the log (0-based, dense).
    public let offset: UInt64
    /// Milliseconds since 1970 when the broker accepted it.
    public let timestamp: Int64
    public let publication: Publication
    /// Its MESSAGE frames' shared headers, encoded by the first delivery that needs them; every
    /// copy of the message shares the box, so subscribers reading it from the log's cache of
    /// recent messages, each at its own pace, encode them once between them.
    let frameHeaders = FrameHeadersBox()

    public init(offset: UInt64, timestamp: Int64, publication: Publication) {
        self.offset = offset
        self.timestamp = timestamp
        self.publication = publication
    }

    public var destination: Destination { publication.destination }
    public var messageID: String { "m-\(offset)" }
}
