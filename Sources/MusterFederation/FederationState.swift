public import MusterProtocol
import Synchronization

/// The federation rules in force, shared by the gate that stamps exports, the sessions that
/// serve export streams and the links that import; a reload replaces them whole.
public final class FederationState: Sendable {
    private let current: Mutex<FederationRules>

    public init(_ rules: FederationRules) {
        current = Mutex(rules)
    }

    public var rules: FederationRules { current.withLock { $0 } }

    public func replace(_ rules: FederationRules) {
        current.withLock { $0 = rules }
    }

    /// The peer whose export destination `destination` is, and its lane, if it is one.
    public func exportPeer(of destination: Destination) -> (peer: FederationPeer, lane: LinkLane)? {
        for peer in rules.peers {
            for lane in LinkLane.allCases where peer.exportDestination(lane) == destination { return (peer, lane) }
        }
        return nil
    }
}
