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
            store(admitted, completion: stored)
            return nil
        case .failure(let refusal):
            return refusal.reported
        }
    }
}
