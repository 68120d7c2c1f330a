/// Heart-beat intervals of one connection after CONNECT negotiation (STOMP 1.2 §Heart-beating).
public struct HeartbeatAgreement: Sendable, Equatable {
    /// How often the broker sends (0 = never), in milliseconds.
    public let sendEvery: Int
    /// How often the broker expects to hear from the client (0 = not checked), in milliseconds.
    public let expectEvery: Int

    /// Negotiates from the client's `heart-beat: cx,cy` and the broker's own `sx,sy`.
    public static func negotiate(client: (send: Int, want: Int), server: (send: Int, want: Int)) -> HeartbeatAgreement {
        HeartbeatAgreement(
            sendEvery: client.want == 0 || server.send == 0 ? 0 : max(client.want, server.send),
            expectEvery: client.send == 0 || server.want == 0 ? 0 : max(client.send, server.want))
    }

    /// Parses "cx,cy" (two non-negative integers).
    public static func parse(_ text: String) -> (send: Int, want: Int)? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let send = Int(parts[0].trimmingSpaces), let want = Int(parts[1].trimmingSpaces),
              send >= 0, want >= 0 else { return nil }
        return (send, want)
    }
}

/// Decides, from the times of the last read and write, when to send a heart-beat and
/// when the peer has been silent for too long. Pure; the caller supplies the clock.
public struct HeartbeatMonitor: Sendable {
    public enum Decision: Equatable, Sendable { case idle, sendHeartbeat, peerSilent }

    public let agreement: HeartbeatAgreement
    /// How many expected intervals of silence are tolerated (network jitter, GC pauses).
    public let tolerance: Double

    public init(agreement: HeartbeatAgreement, tolerance: Double = 2.0) {
        self.agreement = agreement
        self.tolerance = tolerance
    }

    /// `sinceRead`/`sinceWrite` in milliseconds.
    public func decide(sinceRead: Int, sinceWrite: Int) -> Decision {
        if agreement.expectEvery > 0, Double(sinceRead) > Double(agreement.expectEvery) * tolerance {
            return .peerSilent
        }
        // Beat at half the interval: the caller's clock ticks coarsely, and a beat that is
        // a tick late must still arrive within the interval the peer checks.
        if agreement.sendEvery > 0, sinceWrite * 2 >= agreement.sendEvery {
            return .sendHeartbeat
        }
        return .idle
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
