public import MusterProtocol
import Synchronization

/// Where in this broker's log the records stamped for each peer and lane are, so that an export
/// stream jumps over records that are not for it instead of reading them: the urgent lane does
/// not read a backlog of bulk records, and a stream does not read the records this broker
/// imported (which it never exports back). Kept in memory; a stream reading below what a lane's
/// index covers reads the log.
///
/// Fed in log order: `note` for each stored message stamped for a peer (as its append
/// completes), then `cover` once every record before an offset has been noted. The records
/// stored before the broker started are noted by its start-up scan of the log (`noteHistory`),
/// and covered once it is through (`coverHistory`).
public struct ExportIndex: Sendable {
    public struct Lane: Hashable, Sendable {
        public let peer: String
        public let lane: LinkLane

        public init(peer: String, lane: LinkLane) {
            self.peer = peer
            self.lane = lane
        }
    }

    /// What a stream of a lane reading from an offset does next.
    public enum Step: Equatable, Sendable {
        /// The records from `range.lowerBound` to `range.upperBound` are the lane's next ones
        /// (those between where it read and there are not for it).
        case read(ClosedRange<UInt64>)
        /// Nothing for the lane until `offset` (the end of what is noted): go on reading there.
        case skip(to: UInt64)
        /// Not covered (below the index, or past what is noted): read the log.
        case scan
    }

    /// The most ranges a lane keeps (16 bytes each); past it the oldest half go, and that lane's
    /// coverage starts later.
    public let rangeLimit: Int

    private var stamped: [Lane: OffsetRanges] = [:]
    /// Per lane, where its coverage starts once ranges were forgotten or acknowledged (see `coverageStart`).
    private var coveredFrom: [Lane: UInt64] = [:]
    private var start: UInt64
    /// Every stamped record before this offset has been noted.
    public private(set) var notedThrough: UInt64

    /// An index covering the log from `start` (the offset its next record will get) on.
    public init(start: UInt64, rangeLimit: Int = 1 << 20) {
        self.rangeLimit = rangeLimit
        self.start = start
        self.notedThrough = start
    }

    /// The stored message at `offset` is stamped for these peers (`muster-export`), and urgent
    /// for those (`muster-export-urgent`).
    public mutating func note(offset: UInt64, exportedTo peers: String, urgentFor urgent: String?) {
        for peer in peers.split(separator: ",") {
            let lane = Lane(peer: String(peer), lane: FederationHeader.list(urgent, names: String(peer)) ? .urgent : .bulk)
            guard offset >= coverageStart(of: lane) else { continue }
            insert(offset, into: lane)
        }
    }

    /// Keeps at most `rangeLimit` ranges in the lane: past it, the oldest half go and the lane's
    /// coverage starts after them.
    private mutating func insert(_ offset: UInt64, into lane: Lane) {
        stamped[lane, default: OffsetRanges()].insert(offset)
        if stamped[lane]!.count > rangeLimit, let forgotten = stamped[lane]!.removeOldest(rangeLimit / 2) {
            coveredFrom[lane] = max(coveredFrom[lane] ?? 0, forgotten + 1)
        }
    }

    /// A message the start-up scan found stamped, stored before the index's start.
    public mutating func noteHistory(offset: UInt64, exportedTo peers: String, urgentFor urgent: String?) {
        guard offset < start else { return }  // stored since the start: noted as its append completed
        for peer in peers.split(separator: ",") {
            insert(offset, into: Lane(peer: String(peer), lane: FederationHeader.list(urgent, names: String(peer)) ? .urgent : .bulk))
        }
    }

    /// The start-up scan has noted every stamped message from `first` (the log's first offset) on.
    public mutating func coverHistory(from first: UInt64) {
        guard first < start else { return }
        start = first
    }

    /// Every record before `next` has been noted.
    public mutating func cover(through next: UInt64) {
        notedThrough = max(notedThrough, next)
    }

    /// Where a stream of `lane` that reads from `offset` on goes next.
    public func next(for lane: Lane, from offset: UInt64) -> Step {
        guard offset >= coverageStart(of: lane), offset < notedThrough else { return .scan }
        guard let range = stamped[lane]?.firstRange(atOrAfter: offset), range.lowerBound < notedThrough else {
            return .skip(to: notedThrough)
        }
        return .read(range)
    }

    /// The peer has acknowledged `lane` through `offset`: what lies before is not needed again
    /// (a peer whose log lost records would read from lower, and the stream reads the log then).
    /// `offset` itself stays covered: a peer that reconnects reads from the record it took last.
    public mutating func acknowledged(_ lane: Lane, through offset: UInt64) {
        guard offset > coverageStart(of: lane) else { return }
        coveredFrom[lane] = offset
        stamped[lane]?.removeRanges(endingThrough: offset - 1)
    }

    /// The first offset the lane's index answers for: not below `start` (before the start-up scan
    /// is through, that is where the broker started), nor below what the lane forgot.
    private func coverageStart(of lane: Lane) -> UInt64 { max(coveredFrom[lane] ?? start, start) }

    /// How many ranges the lane keeps (memory grows with these).
    public func rangeCount(of lane: Lane) -> Int { stamped[lane]?.count ?? 0 }
}

/// The broker's `ExportIndex`: fed by the store as appends complete, read by export streams.
public final class SharedExportIndex: Sendable {
    /// A leaf lock (MusterServer/LockOrder.swift): taken under the log's commit lock, on event loops and on readers.
    private let index: Mutex<ExportIndex>

    public init(start: UInt64) { index = Mutex(ExportIndex(start: start)) }

    public func note(offset: UInt64, exportedTo peers: String, urgentFor urgent: String?) {
        index.withLock { $0.note(offset: offset, exportedTo: peers, urgentFor: urgent) }
    }
    public func cover(through next: UInt64) { index.withLock { $0.cover(through: next) } }
    public func noteHistory(offset: UInt64, exportedTo peers: String, urgentFor urgent: String?) {
        index.withLock { $0.noteHistory(offset: offset, exportedTo: peers, urgentFor: urgent) }
    }
    public func coverHistory(from first: UInt64) { index.withLock { $0.coverHistory(from: first) } }
    public func next(for lane: ExportIndex.Lane, from offset: UInt64) -> ExportIndex.Step { index.withLock { $0.next(for: lane, from: offset) } }
    public func acknowledged(_ lane: ExportIndex.Lane, through offset: UInt64) { index.withLock { $0.acknowledged(lane, through: offset) } }
}
