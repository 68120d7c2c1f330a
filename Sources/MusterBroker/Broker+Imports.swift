public import MusterProtocol

extension Broker {
    /// Stores a record a federation link brought from a peer, published by `publication.sender`
    /// there: the policy decides as for that party's own SEND here (a refusal is recorded as any
    /// is). No workflow decides it and no publish id applies: the origin broker did both.
    public func publishImported(_ publication: Publication, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) {
        switch gate.admit(publication) {
        case .success(let admitted):
            store(admitted, completion: completion)
        case .failure(let refusal):
            completion(.failure(refusal.reported))
        }
    }
}
