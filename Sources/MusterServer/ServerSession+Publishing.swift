import MusterBroker
import MusterProtocol
import MusterStomp

/// Publishing: a SEND's append is committed with the rest of the loop's iteration, and its
/// RECEIPT goes out once the message is durable.
extension ServerSession {
    /// The log writes what the sessions of this loop appended in one iteration together, on the
    /// loop thread when its writer is idle: a publisher waiting for each receipt then gets it
    /// without two cross-thread wake-ups.
    func scheduleCommit() {
        guard !commitScheduled else { return }
        commitScheduled = true
        channel.loop.execute { [self] in
            commitScheduled = false
            if let consumers { consumers.commitAndFeed() } else { broker.store.commitPending() }
        }
    }

    func publish(_ publication: Publication, receipt: String?) {
        defer {
            scheduleCommit()
            waitForFanOutIfBehind()
        }
        ordering.publishing()
        broker.publish(publication, deferCommit: true) { [self] result in
            if ordering.finished() { channel.loop.execute { [self] in perform(ordering.release()) } }
            switch result {
            case .success(let stored):
                guard let receipt else { return }
                var frame = StompFrame.receipt(receipt)
                frame.headers[PublishHeader.offset] = String(stored.offset)
                // A workflow message's receipt names its summons, hand-off or operation (the id the broker assigned).
                if let id = stored.publication.headers[WorkflowHeader.id] { frame.headers[WorkflowHeader.id] = id }
                // A repeated publish id: the receipt is the original's, and says so.
                if let repeated = stored.publication.headers[PublishHeader.duplicate] { frame.headers[PublishHeader.duplicate] = repeated }
                send(frame)
            case .failure(let error):
                channel.loop.execute { [self] in refuse(error, receipt: receipt) }
            }
        }
    }

    /// Stops reading this publisher's socket while fan-out is too far behind (its next SENDs wait
    /// in the kernel and its TCP window; none is dropped), and reads on once it has caught up.
    private func waitForFanOutIfBehind() {
        guard !waitingForFanOut else { return }
        let paused = broker.pausePublisher(ifBehind: { [weak self] in
            guard let self else { return }
            channel.loop.execute { [self] in
                waitingForFanOut = false
                lastRead = .now
                channel.resumeReading()
            }
        })
        guard paused else { return }
        waitingForFanOut = true
        channel.pauseReading()
    }
}
