public import MusterBroker
public import MusterLog
import MusterStomp

/// The broker's message store on the durable log: a publication becomes a log record, and
/// the broker hears of it (to route it and send the RECEIPT) only once the record is durable.
public final class LogMessageStore: MessageStore {
    public let log: MessageLog

    public init(log: MessageLog) {
        self.log = log
    }

    public func append(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        log.append(LogEntry(publication)) { result in
            switch result {
            case .success(let appended):
                completion(.success(StoredMessage(offset: appended.offset, timestamp: appended.timestamp, publication: publication)))
            case .failure(let error):
                completion(.failure(BrokerError(.storageFailure, "the message was not stored: \(error)")))
            }
        }
    }
}

extension LogEntry {
    /// A publication as a record: the sender travels as the first two headers.
    init(_ publication: Publication) {
        var headers: [LogHeader] = [
            LogHeader(ReservedHeader.sender, publication.sender.party),
            LogHeader(ReservedHeader.senderJurisdiction, publication.sender.jurisdiction),
        ]
        headers.reserveCapacity(publication.headers.count + 2)
        for (name, value) in publication.headers { headers.append(LogHeader(name, value)) }
        self.init(kind: .message, destination: publication.destination.description, headers: headers, body: publication.body)
    }
}

extension StoredMessage {
    /// A message record read back from the log; nil for a record that is not a message.
    public init?(record: LogRecord) {
        guard record.kind == .message, let destination = try? Destination(parsing: record.destination) else { return nil }
        var sender = PartyIdentity(jurisdiction: "", party: "")
        var headers = StompHeaders()
        for header in record.headers {
            switch header.name {
            case ReservedHeader.sender where sender.party.isEmpty:
                sender = PartyIdentity(jurisdiction: sender.jurisdiction, party: header.value)
            case ReservedHeader.senderJurisdiction where sender.jurisdiction.isEmpty:
                sender = PartyIdentity(jurisdiction: header.value, party: sender.party)
            default:
                headers.append(header.name, header.value)
            }
        }
        self.init(offset: record.offset, timestamp: record.timestamp,
                  publication: Publication(destination: destination, headers: headers, body: record.body, sender: sender))
    }
}
