import MusterBroker
import Synchronization

/// A connection stand-in that keeps what the broker hands it, and always has room.
final class CollectingTarget: DeliveryTarget {
    private let received = Mutex<[Delivery]>([])
    func deliver(_ delivery: Delivery) { received.withLock { $0.append(delivery) } }
    var deliveries: [Delivery] { received.withLock { $0 } }
    var hasRoom: Bool { true }
}
