import Foundation
public import MusterProtocol

/// What `muster federation status` shows of one link, as the importing broker sees it.
public struct LinkStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case connecting, connected, disconnected
        /// Stopped by an alarm (a fork): it stays stopped until the broker restarts.
        case halted
    }

    public var peer: String
    public var lane: LinkLane
    public var address: String
    public var state: State = .connecting
    /// Since when the link is connected (ms since 1970).
    public var connectedSince: Int64?
    /// The last record taken from the peer: its place in the peer's log (`LOG-ID/OFFSET`), and
    /// its origin time (ms).
    public var lastLinkPosition: String?
    public var lastOriginTime: Int64?
    /// When it was taken (ms): with `lastOriginTime`, how far behind the link runs.
    public var lastImportedAt: Int64?
    /// The peer's log length when it sent the last record taken: with `lastLinkPosition`, the
    /// backlog at the exporter, in its log's records (of every destination, exported or not).
    public var peerLogHead: UInt64?
    public var imported = 0
    public var refused = 0
    public var duplicatesDropped = 0
    /// Ranges the peer pruned before this link took them (each recorded on both sides).
    public var gaps = 0
    public var reconnects = 0
    public var lastError: String?
    public var lastErrorAt: Int64?
    public var alarm: String?

    public init(peer: String, lane: LinkLane = .bulk, address: String) {
        self.peer = peer
        self.lane = lane
        self.address = address
    }

    /// Records of the peer's log after the last one taken, when it was sent.
    public var backlogRecords: UInt64? {
        guard let head = peerLogHead, let offset = lastLinkPosition?.split(separator: "/").last.flatMap({ UInt64($0) }) else { return nil }
        return head > offset ? head - offset - 1 : 0
    }

    /// Seconds between the origin's stamp and this broker's import of the last record.
    public var lagSeconds: Double? {
        guard let origin = lastOriginTime, let imported = lastImportedAt else { return nil }
        return Double(max(0, imported - origin)) / 1000
    }
}
