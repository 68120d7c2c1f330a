import MusterBroker
import Synchronization

/// A subscription starts after everything its connection sent before it, and an answer never
/// overtakes the RECEIPTs of earlier SENDs. A SEND is stored and routed when the loop's
/// iteration commits, so a SUBSCRIBE read in the same iteration would otherwise be routed the
/// connection's own earlier message; and an ERROR (with the close after it) would reach a
/// client before the RECEIPTs of SENDs that were stored, which the client would then resend.
/// While any of the connection's SENDs is not yet stored, a SUBSCRIBE, an ERROR, a RECEIPT or
/// a close, and every action after it, is held.
final class PublishOrdering: @unchecked Sendable {
    private let inFlight = Atomic<Int>(0)
    private let holding = Atomic<Bool>(false)
    /// Held actions, in frame order (loop thread only).
    private var held: [SessionAction] = []

    /// A SEND was handed to the broker (loop thread).
    func publishing() {
        inFlight.add(1, ordering: .sequentiallyConsistent)
    }

    /// A SEND was stored or refused (any thread); true when held actions may now run (on the loop).
    func finished() -> Bool {
        inFlight.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 && holding.load(ordering: .sequentiallyConsistent)
    }

    /// Whether `action` must wait (loop thread); it is then held until `release`.
    func hold(_ action: SessionAction) -> Bool {
        if held.isEmpty {
            guard Self.waitsForEarlierSends(action), inFlight.load(ordering: .sequentiallyConsistent) > 0 else { return false }
        }
        held.append(action)
        holding.store(true, ordering: .sequentiallyConsistent)
        return true
    }

    /// Whether actions are held now (loop thread): then every action joins them, in order.
    var isHolding: Bool { !held.isEmpty }

    static func waitsForEarlierSends(_ action: SessionAction) -> Bool {
        switch action {
        case .subscribe, .close: true
        case .send(let frame): frame.command == .error || frame.command == .receipt
        default: false
        }
    }

    /// The held actions, once none of the connection's SENDs is in flight (loop thread).
    func release() -> [SessionAction] {
        guard !held.isEmpty, inFlight.load(ordering: .sequentiallyConsistent) == 0 else { return [] }
        holding.store(false, ordering: .sequentiallyConsistent)
        defer { held = [] }
        return held
    }
}
