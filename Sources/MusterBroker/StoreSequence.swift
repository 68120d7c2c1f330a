import Synchronization

/// Publications of which none may be stored past one that failed to be (a federation link's
/// imports, whose last one stored is where the link resumes). The store fails the later ones
/// of a broken sequence even when it could take them.
public final class StoreSequence: Sendable {
    private let broken = Atomic<Bool>(false)
    /// Stored before other queued publications (a link's urgent lane).
    public let isUrgent: Bool
    /// The sequence this one is a view of (`queuedInOrder`): they break together.
    private let base: StoreSequence?

    public init(urgent: Bool = false) {
        isUrgent = urgent
        base = nil
    }

    private init(queuedInOrderOf base: StoreSequence) {
        isUrgent = false
        self.base = base
    }

    public var isBroken: Bool { (base ?? self).broken.load(ordering: .acquiring) }

    public func markBroken() { (base ?? self).broken.store(true, ordering: .releasing) }

    /// The same sequence, its appends queued behind those already waiting: what the workflows
    /// decided is stored in the order they decided it, whichever lane brought it.
    public var queuedInOrder: StoreSequence { isUrgent ? StoreSequence(queuedInOrderOf: self) : self }
}
