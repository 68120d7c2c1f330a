import MusterBroker
import MusterProtocol
import MusterStomp

/// Queries (acknowledgements, workflows): answered by `SessionQueries` on the connection's own
/// `reply-to` subscription.
extension ServerSession {
    /// Answers a query on the connection's own `reply-to` subscription.
    func answer(_ query: AckQuery, receipt: String?) {
        guard let sessionID, let party = machine?.party else { return }
        let replyIDs = broker.inspect { $0.subscriptionIDs(sessionID: sessionID, to: query.replyTo) }
        guard !replyIDs.isEmpty else {
            return refuse(BrokerError(.invalidQuery, "reply-to \(query.replyTo) is not a destination this connection subscribed to"), receipt: receipt)
        }
        let serial = subscriptions.withLock { $0.takeSerial() }
        queries.answer(query, from: party, reply: { [self] body in
            for id in replyIDs {
                ServerMetrics.framesSent[.message]?.increment()
                write(StompFrameEncoder.encode(AckQueryAnswer.frame(body, for: query, subscriptionID: id, serial: serial), version: version))
            }
            if let receipt { send(.receipt(receipt)) }
        }, refuse: { [self] error in channel.loop.execute { [self] in refuse(error, receipt: receipt) } })
    }
}
