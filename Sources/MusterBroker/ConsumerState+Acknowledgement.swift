public import MusterProtocol
/// ACK, NACK, ack-wait expiry and inspection.
extension ConsumerState {
    /// Whether `ackID` names a delivery of this consumer to `key`, current or superseded.
    public func knows(ackID: UInt64, from key: SubscriberKey) -> Bool {
        inFlight[ackID]?.subscriber == key || superseded[ackID]?.subscriber == key
    }

    /// ACK: settles the delivery (in `client` mode, with every earlier delivery to the same
    /// subscription). A superseded delivery is refused with the reason, never silently accepted.
    public mutating func acknowledge(ackID: UInt64, from key: SubscriberKey, now: Int64, ackIDs: inout UInt64) throws(BrokerError) -> ConsumerOutput {
        var output = ConsumerOutput()
        for entry in try settle(ackID: ackID, from: key) {
            output.events.append(event(.acked, entry, at: now))
        }
        output.append(dispatchWaiting(now: now, ackIDs: &ackIDs))
        return output
    }

    /// NACK: with `requeue` the message is delivered again at once (or dead-lettered once it has
    /// had `max-deliveries`); without, it goes to the dead-letter destination.
    public mutating func reject(ackID: UInt64, from key: SubscriberKey, requeue: Bool, now: Int64, ackIDs: inout UInt64) throws(BrokerError) -> ConsumerOutput {
        var output = ConsumerOutput()
        for entry in try settle(ackID: ackID, from: key) {
            if requeue {
                output.events.append(event(.nacked, entry, at: now, reason: "NACK"))
                self.requeue(entry, now: now, output: &output, reason: nil)
            } else if canDeadLetter {
                let reason = "rejected by \(entry.party) (NACK requeue:false)"
                let recorded = event(.deadLettered, entry, at: now, reason: reason)
                output.deadLetters.append(DeadLetter(message: entry.message, target: policy.deadLetter, deliveryCount: entry.deliveryCount,
                                                     reason: reason, event: recorded))
                output.events.append(recorded)
            } else {
                // Already on the dead-letter destination: a NACK without requeue discards it, on the record.
                output.events.append(event(.acked, entry, at: now, reason: "discarded from the dead-letter destination (NACK requeue:false)"))
            }
        }
        output.append(dispatchWaiting(now: now, ackIDs: &ackIDs))
        return output
    }

    /// Redelivers what waited longer than the ack-wait, and sends waiting messages to subscribers with room.
    public mutating func tick(now: Int64, ackIDs: inout UInt64) -> ConsumerOutput {
        var output = ConsumerOutput()
        while let ackID = oldestInFlight, now - inFlight[ackID]!.deliveredAt >= policy.ackWait {
            let entry = inFlight.removeValue(forKey: ackID)!
            removeFromAttachment(ackID, of: entry.subscriber)
            let waited = "ack-wait of \(Self.seconds(policy.ackWait)) expired"
            output.events.append(event(.expired, entry, at: now, reason: waited))
            let deadLetters = output.deadLetters.count
            requeue(entry, now: now, output: &output, reason: "\(waited) on delivery \(entry.deliveryCount)")
            let fate = output.deadLetters.count > deadLetters
                ? "the message was moved to \(policy.deadLetter) after its last allowed delivery"
                : "the message was delivered again"
            remember(ackID, subscriber: entry.subscriber,
                     "it is delivery \(entry.deliveryCount) of the message at offset \(entry.offset), superseded when its \(waited); \(fate)")
        }
        output.append(dispatchWaiting(now: now, ackIDs: &ackIDs))
        return output
    }

    /// When the next delivery's ack-wait runs out (nil: nothing in flight).
    public var nextDeadline: Int64? {
        mutating get { oldestInFlight.map { inFlight[$0]!.deliveredAt + policy.ackWait } }
    }

    /// The ack id of the oldest delivery still in flight, dropping settled ones from the order.
    private var oldestInFlight: UInt64? {
        mutating get {
            while deliveryOrderHead < deliveryOrder.count, inFlight[deliveryOrder[deliveryOrderHead]] == nil {
                deliveryOrderHead += 1
            }
            if deliveryOrderHead > 1024, deliveryOrderHead * 2 > deliveryOrder.count {
                deliveryOrder.removeFirst(deliveryOrderHead)
                deliveryOrderHead = 0
            }
            return deliveryOrderHead < deliveryOrder.count ? deliveryOrder[deliveryOrderHead] : nil
        }
    }

    /// Unacknowledged deliveries and messages waiting for redelivery, by offset.
    public var pending: [PendingDelivery] {
        let delivered = inFlight.values.map {
            PendingDelivery(consumer: name, destination: destination, offset: $0.offset, party: $0.party,
                            subscriptionID: $0.subscriber.subscriptionID, deliveryCount: $0.deliveryCount, since: $0.deliveredAt, state: .delivered)
        }
        let waited = waiting.map {
            PendingDelivery(consumer: name, destination: destination, offset: $0.key, party: $0.value.lastParty,
                            subscriptionID: $0.value.lastSubscription, deliveryCount: $0.value.deliveryCount, since: $0.value.since, state: .waiting)
        }
        return (delivered + waited).sorted { $0.offset < $1.offset }
    }

    /// Puts back a message that was delivered before a restart and never settled.
    public mutating func restoreWaiting(offset: UInt64, deliveryCount: Int, party: PartyIdentity?, subscriptionID: String?, since: Int64) {
        waiting[offset] = Waiting(deliveryCount: deliveryCount, message: nil, lastParty: party, lastSubscription: subscriptionID, since: since)
    }

    // MARK: Internals

    /// A dead-letter destination that is the consumer's own would loop; messages there are redelivered instead.
    var canDeadLetter: Bool { policy.deadLetter != destination }

    private mutating func settle(ackID: UInt64, from key: SubscriberKey) throws(BrokerError) -> [InFlight] {
        guard inFlight[ackID]?.subscriber == key, let attachment = attachments[key] else {
            if let superseded = superseded[ackID], superseded.subscriber == key {
                throw BrokerError(.ackSuperseded, "ack id '\(ackID)' is no longer current: \(superseded.explanation)")
            }
            throw BrokerError(.unknownAck, "ack id '\(ackID)' does not name an unsettled delivery of this connection")
        }
        let settledIDs: [UInt64]
        if attachment.mode == .client {
            settledIDs = attachment.inFlight.filter { $0 <= ackID }
            attachments[key]!.inFlight.removeAll { $0 <= ackID }
        } else {
            // Acknowledgements mostly come in delivery order: the id is found at once.
            settledIDs = [ackID]
            removeFromAttachment(ackID, of: key)
        }
        return settledIDs.compactMap { inFlight.removeValue(forKey: $0) }
    }

    private mutating func removeFromAttachment(_ ackID: UInt64, of key: SubscriberKey) {
        guard let index = attachments[key]?.inFlight.firstIndex(of: ackID) else { return }
        attachments[key]!.inFlight.remove(at: index)
    }

    /// A failed delivery waits for the next one, unless it had its last.
    mutating func requeue(_ entry: InFlight, now: Int64, output: inout ConsumerOutput, reason: String?) {
        if let limit = policy.maxDeliveries, entry.deliveryCount >= limit, canDeadLetter {
            let why = "max-deliveries (\(limit)) reached" + (reason.map { " after the \($0)" } ?? "")
            let recorded = event(.deadLettered, entry, at: now, reason: why)
            output.deadLetters.append(DeadLetter(message: entry.message, target: policy.deadLetter, deliveryCount: entry.deliveryCount,
                                                 reason: why, event: recorded))
            output.events.append(recorded)
            return
        }
        waiting[entry.offset] = Waiting(deliveryCount: entry.deliveryCount, message: entry.message, lastParty: entry.party,
                                        lastSubscription: entry.subscriber.subscriptionID, since: now)
    }

    mutating func remember(_ ackID: UInt64, subscriber: SubscriberKey, _ explanation: String) {
        superseded[ackID] = Superseded(subscriber: subscriber, explanation: explanation)
        supersededOrder.append(ackID)
        if supersededOrder.count > Self.supersededMemory {
            let forget = supersededOrder.count - Self.supersededMemory
            for old in supersededOrder.prefix(forget) { superseded[old] = nil }
            supersededOrder.removeFirst(forget)
        }
    }

    func event(_ kind: LedgerEvent.Kind, _ entry: InFlight, at now: Int64, reason: String? = nil) -> LedgerEvent {
        LedgerEvent(kind: kind, consumer: name, generation: generation, destination: destination, offset: entry.offset,
                    party: entry.party, subscriptionID: entry.subscriber.subscriptionID, deliveryCount: entry.deliveryCount,
                    deliveredAt: entry.deliveredAt, at: now, reason: reason)
    }

    func waitingEvent(_ kind: LedgerEvent.Kind, offset: UInt64, _ entry: Waiting, at now: Int64, reason: String?) -> LedgerEvent {
        LedgerEvent(kind: kind, consumer: name, generation: generation, destination: destination, offset: offset,
                    party: entry.lastParty ?? PartyIdentity(jurisdiction: "", party: ""), subscriptionID: entry.lastSubscription ?? "",
                    deliveryCount: entry.deliveryCount, deliveredAt: entry.since, at: now, reason: reason)
    }

    static func seconds(_ milliseconds: Int64) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
