public import MusterProtocol

/// What the broker asks of the workflows (summonses, hand-offs, joint operations): whether
/// a publication is theirs, to decide and store it, and what else to tell them. The broker
/// knows only this protocol; `MusterWorkflow`'s desk implements it.
public protocol WorkflowHandling: AnyObject, Sendable {
    /// Stores a publication the workflow decided on; completes with the stored message or why not.
    typealias Store = (Publication, @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) -> Void

    /// Whether `publication` is a workflow message.
    func claims(_ publication: Publication) -> Bool
    /// Decides a client's workflow message and, if the workflow takes it, stores it with `store`.
    func submit(_ publication: Publication, store: Store, completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void)
    /// Writes what is owed now (reminders, escalations, copies) and returns the next deadline.
    @discardableResult
    func runTimers(store: Store) -> Int64?
    /// Who to poke when a new deadline may be nearer (the timer thread).
    func onDeadlineChange(_ handler: @escaping @Sendable () -> Void)
    /// Notes delivery events (called with the broker's lock held: may take only a leaf lock).
    func observe(_ events: [LedgerEvent])
    /// Takes a stored record the broker wrote outside the workflow (a refusal record).
    func note(_ message: StoredMessage)
    /// Decides a workflow record a federation link brought (`fromBroker`: the linked broker of
    /// that jurisdiction wrote it itself) and stores it, or returns the refusal at once.
    func takeImported(_ publication: Publication, fromBroker: String?, store: Store,
                      completion: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void) -> BrokerError?
}
