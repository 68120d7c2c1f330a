import Synchronization

/// Publications of which none may be stored past one that failed to be (a federation link's
/// imports, whose last one stored is where the link resumes). The store fails the later ones
/// of a broken sequence even when it could take them.
public final class StoreSequence: Sendable {
    private let broken = Atomic<Bool>(false)
    /// Stored before other queued publications (a link's urgent lane).
    public let isUrgent: Bool

    public init(urgent: Bool = false) {
        isUrgent = urgent
    }

    public var isBroken: Bool { broken.load(ordering: .acquiring) }

    public func markBroken() { broken.store(true, ordering: .releasing) }
}
