public import MusterProtocol

extension Broker {
    /// Stores a record a federation link brought from a peer, published by `publication.sender`
    /// there: the policy decides as for that party's own SEND here (a refusal is recorded as any
    /// is). No workflow decides it and no publish id applies: the origin broker did both.
    /// Returns the policy's refusal at once (so that the link records it in the order of its
    /// records), or nil: the record is being stored, and `stored` says how that went.
    /// Stores a record the link vouched for itself (a peer broker's signed checkpoint, whose
    /// signature it checked): no party sent it, so no party's policy applies.
    public func storeVerifiedImport(_ publication: Publication, stored: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        store(publication, completion: stored)
    }

    public func publishImported(_ publication: Publication, stored: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) -> BrokerError? {
        switch gate.admit(publication) {
        case .success(let admitted):
            // A workflow message of a cross-border case: this broker's copy of the case decides it too.
            if let workflow, workflow.claims(admitted) {
                return workflow.takeImported(admitted, fromBroker: nil, store: storeInDecisionOrder, completion: stored)
            }
            store(admitted, completion: stored)
            return nil
        case .failure(let refusal):
            return refusal.reported
        }
    }

    /// Stores a workflow record the linked broker of `jurisdiction` wrote itself (a copy, reminder,
    /// escalation or receipt of a case both follow): no party sent it, so no party's policy
    /// applies; the workflows decide whether that broker may write it.
    public func importWorkflowRecord(_ publication: Publication, from jurisdiction: String,
                                     stored: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) -> BrokerError? {
        guard let workflow else { return BrokerError(.notAuthorized, "this broker follows no workflows") }
        return workflow.takeImported(publication, fromBroker: jurisdiction, store: storeInDecisionOrder, completion: stored)
    }

    /// Stores what the workflows took from a link behind everything already queued (an urgent
    /// lane's append would otherwise overtake what the desk decided before it).
    private func storeInDecisionOrder(_ publication: Publication, _ done: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        var inOrder = publication
        inOrder.sequence = publication.sequence?.queuedInOrder
        store(inOrder, completion: done)
    }
}
