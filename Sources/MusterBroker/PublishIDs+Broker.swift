public import MusterProtocol
import MusterStomp

/// How long and how many publish ids the broker remembers (`publish-ids:` in muster.yaml).
public struct PublishIDSettings: Sendable {
    /// Milliseconds an id is remembered after its message was stored.
    public var window: Int64 = 10 * 60_000
    /// Ids remembered at most; beyond it the oldest are forgotten.
    public var capacity = 100_000

    public init() {}
}

/// A publish id found in the log at start, within the window.
public struct RestoredPublishID: Sendable {
    public let key: PublishIDs<PublishWaiter>.Key
    public let original: PublishIDs<PublishWaiter>.Original
    /// When it was stored, on the broker's clock.
    public let storedAt: Int64

    public init(_ message: StoredMessage, storedAt: Int64) {
        key = .init(party: message.publication.sender, id: message.publication.headers[PublishHeader.id] ?? "")
        original = .init(stored: message)
        self.storedAt = storedAt
    }
}

/// A repeat waiting for the original publication with its publish id to be stored.
public struct PublishWaiter: Sendable {
    let publication: Publication
    let completion: @Sendable (Result<StoredMessage, BrokerError>) -> Void
}

extension PublishIDs.Original {
    init(stored: StoredMessage) {
        self.init(offset: stored.offset, timestamp: stored.timestamp, destination: stored.destination.description,
                  workflowID: stored.publication.headers[WorkflowHeader.id])
    }
}

extension Broker {
    /// What a repeated publication's completion reports: the original's offset and time, and
    /// its workflow id, with `muster-duplicate: true` (the body is not kept). A repeat to
    /// another destination than the original's is refused: the id is already taken.
    static func repeatReport(of original: PublishIDs<PublishWaiter>.Original, _ publication: Publication) -> Result<StoredMessage, BrokerError> {
        guard original.destination == publication.destination.description else {
            return .failure(BrokerError(.invalidHeader, "\(PublishHeader.id) '\(publication.headers[PublishHeader.id] ?? "")' already names "
                                        + "your message to \(original.destination) (offset \(original.offset)): choose a new id for a new message"))
        }
        var headers = StompHeaders()
        headers.append(PublishHeader.duplicate, "true")
        if let workflowID = original.workflowID { headers.append(WorkflowHeader.id, workflowID) }
        return .success(StoredMessage(offset: original.offset, timestamp: original.timestamp,
                                      publication: Publication(destination: publication.destination, headers: headers, body: [], sender: publication.sender)))
    }
}
